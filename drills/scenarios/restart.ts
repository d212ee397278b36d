// docs/design.md, "Failure scenarios and drills", scenario 9: restart the Temporal dev server (same state file and port), then
// Postgres (same data directory), while checkouts keep coming: the api answers
// 503/202 meanwhile, clients retry with the same key, every checkout finishes.
// On the cluster it is Temporal's server proper (its state in Postgres) that
// restarts, then the one Postgres both it and the app keep their state in;
// the checkouts alternate between the two apis.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCheckoutClient, type CheckoutResult } from '../../client/checkout-client';
import type { Drill } from '../drill';
import type { DrillStack, Part } from '../drill-stack';
import { waitForHttp } from '../../stack/service-process';
import { tally } from '../load';

const dead = (part: Part) => part.service.child.exitCode !== null || part.service.child.signalCode !== null;

/** The end of a part's output without its info lines: what it said before it died. */
const lastWords = (part: Part) =>
  part
    .tail()
    .split('\n')
    .filter((line) => !line.includes('"level":30'))
    .slice(-40)
    .join('\n');

/** Counts a part's output lines matching pattern (its JSON logs, the SDK core's warnings). */
function countLines(part: Part, pattern: RegExp): () => number {
  let n = 0;
  const count = (chunk: Buffer) => {
    n += chunk.toString().split('\n').filter((line) => pattern.test(line)).length;
  };
  part.service.child.stdout?.on('data', count);
  part.service.child.stderr?.on('data', count);
  return () => n;
}

export const restart: Drill = {
  name: 'restart',
  summary: 'restart Temporal, then Postgres, with checkouts in flight: all resume and finish, one charge each',
  fullDuration: 'about 2 min',
  topologies: ['dev', 'cluster'],
  async run({ short, log, startStack }) {
    // a slow provider keeps checkouts in flight when the restarts hit
    const stack = await startStack({ env: { LATENCY_MS: '300' } });
    const quietMs = short ? 5_000 : 20_000;
    const downMs = short ? 3_000 : 15_000;
    const failures: string[] = [];
    const api503 = countLines(stack.api, /answered 503/);
    const workerWarnings = countLines(stack.workers[0] as Part, /WARN|"level":[45]0/);

    // steady load through the bundled client until both restarts are over
    let restartsOver = false;
    const clients = stack.apiUrls.map((baseUrl) => createCheckoutClient({ baseUrl, apiKey: stack.apiKey, maxAttempts: 30, totalTimeoutMs: 600_000, requestTimeoutMs: 10_000 }));
    const run = crypto.randomUUID().slice(0, 8);
    const results: CheckoutResult[] = [];
    const errors: string[] = [];
    let n = 0;
    const ticker = setInterval(() => log(`  ... ${results.length + errors.length}/${n} checkouts done`), 5_000);
    const feed = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (!restartsOver) {
          const i = n++;
          const request = { customer_id: `cust_${i % 50}`, amount_cents: 100 + (i % 9_000), currency: 'USD', payment_method_id: 'pm_card_visa' };
          try {
            results.push(await (clients[i % clients.length] as (typeof clients)[number]).checkout(request, { idempotencyKey: `restart-${run}-${i}` }));
          } catch (err) {
            errors.push((err as Error).message);
          }
        }
      }),
    ).finally(() => clearInterval(ticker));

    // the api and the worker must ride out each restart on their own; one that
    // died is started again, as its supervisor would, and the drill fails
    let replaced = 0;
    const checkSurvivors = async (after: string) => {
      if (dead(stack.api)) {
        failures.push(`the api died after the ${after} restart:\n${lastWords(stack.api)}`);
        stack.api = stack.spawn('api', 'api/main.ts', {});
        await waitForHttp(`${stack.apiUrl}/readyz`, stack.api.service, 120_000);
        replaced += 1;
      }
      const second = stack.cluster?.apis[1];
      if (second && dead(second)) {
        failures.push(`the second api died after the ${after} restart:\n${lastWords(second)}`);
        await stack.cluster?.local.restartExtra('api-2');
        replaced += 1;
      }
      for (const worker of stack.workers.filter(dead)) {
        failures.push(`a worker died after the ${after} restart:\n${lastWords(worker)}`);
        stack.workers = stack.workers.filter((w) => w !== worker);
        await stack.startWorker();
        replaced += 1;
      }
    };

    await sleep(quietMs);
    const temporal = await outage(stack, 'Temporal', downMs, log, () => stack.temporal.stop(), () => stack.startTemporal());
    await sleep(quietMs);
    await checkSurvivors('Temporal');
    const postgres = await outage(stack, 'Postgres', downMs, log, () => stack.postgres.service.stop(), () => stack.startPostgres());
    await sleep(quietMs);
    await checkSurvivors('Postgres');
    restartsOver = true;
    await feed;
    const loadEnded = Date.now();
    const settledMs = await stack.waitUntilSettled(180_000, (open, pending) => log(`  ... settling: ${open} open, ${pending} pending`));
    await checkSurvivors('last');

    const stats = await stack.stubStats();
    const completed = Number(
      (await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE status = 'completed'`)).rows[0]?.n,
    );
    if (errors.length > 0) failures.push(`${errors.length} checkouts gave up: ${errors[0]}`);
    if (settledMs < 0) failures.push('checkouts still running 180 s after the load ended');
    if (completed !== n) failures.push(`completed payments ${completed}, expected ${n}`);
    if (stats.charges_applied !== completed) failures.push(`stub charges applied ${stats.charges_applied}, completed payments ${completed}`);
    return {
      rows: [
        ['logical checkouts', n],
        ['Temporal outage (stop, start, serving)', `${(temporal.outageMs / 1000).toFixed(1)} s, ${temporal.pending} checkouts pending at the stop`],
        ['Postgres outage (stop, start, serving)', `${(postgres.outageMs / 1000).toFixed(1)} s, ${postgres.pending} checkouts pending at the stop`],
        ['api answers 503 (clients retried with the same key)', api503()],
        ['worker warning lines (gRPC retries, lost connections, activity retries)', workerWarnings()],
        ['api and worker across the restarts', replaced > 0 ? `${replaced} died; started again by the drill, as a supervisor would` : 'both lived on and reconnected by themselves'],
        ['outcomes', JSON.stringify(tally(results))],
        ['requests sent (POSTs)', results.reduce((sum, r) => sum + r.attempts, 0)],
        ['stub charges applied / completed payments', `${stats.charges_applied} / ${completed}`],
        ['time to settle after the load', `${((Date.now() - loadEnded) / 1000).toFixed(1)} s`],
      ],
      failures,
    };
  },
};

async function outage(
  stack: DrillStack,
  name: string,
  downMs: number,
  log: (line: string) => void,
  stop: () => Promise<void>,
  start: () => Promise<void>,
): Promise<{ outageMs: number; pending: number }> {
  const pending = Number((await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE status = 'pending'`)).rows[0]?.n);
  log(`stopping ${name} with ${pending} checkouts pending`);
  const t = Date.now();
  await stop();
  await sleep(downMs);
  await start();
  const outageMs = Date.now() - t;
  log(`${name} back after ${(outageMs / 1000).toFixed(1)} s`);
  return { outageMs, pending };
}
