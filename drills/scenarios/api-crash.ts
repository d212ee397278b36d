// docs/design.md, "Failure scenarios and drills", scenario 16: the api hosts a worker and starts
// checkouts eagerly, so a checkout's first workflow task (fraud, the first charge attempt, the
// ledger write, the notification, all local activities) runs inside the api process. SIGKILL the
// api mid-burst, start a new one on the same port: the clients retry with the same
// Idempotency-Key, a task that was running in the dead api is handed to another worker once the
// workflow task timeout passes, and every checkout completes once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createCheckoutClient, type CheckoutResult } from '../../client/checkout-client';
import { countAnswers, startBurst } from '../client-burst';
import type { Drill } from '../drill';
import { tally } from '../load';

const { EventType } = temporal.api.enums.v1;
const OPEN_CHECKOUTS = 'ExecutionStatus = "Running" AND WorkflowType = "checkout"';

/** Checkouts whose history shows a workflow task timed out: a task that was running in a killed api. */
async function timedOutTasks(client: Client): Promise<number> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: 'WorkflowType = "checkout"' })) ids.push(wf.workflowId);
  let timedOut = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const history = await client.workflow.getHandle(ids[next++] as string).fetchHistory();
        if ((history.events ?? []).some((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)) timedOut += 1;
      }
    }),
  );
  return timedOut;
}

export const apiCrash: Drill = {
  name: 'api-crash',
  summary: 'SIGKILL the api (hosting a worker) mid-burst, start a new one: every checkout completes once',
  fullDuration: 'about 2 min',
  async run({ short, log, startStack }) {
    // the api with its in-process worker and eager start (API_EAGER_START, on by default), and one
    // worker process to take over what the killed api held; a provider that takes its time keeps
    // charges in flight inside the api when it dies
    const stack = await startStack({ workers: 1, env: { LATENCY_MS: '200' } });
    const n = short ? 120 : 600;
    const kills = short ? 1 : 3;
    const concurrency = 16;
    log(`${n} checkouts, ${concurrency} at a time, through the bundled client; SIGKILLing the api ${kills} time(s) along the way`);

    const counts = countAnswers();
    const client = createCheckoutClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey, maxAttempts: 30, totalTimeoutMs: 300_000, requestTimeoutMs: 10_000, onAttempt: counts.onAttempt });
    let loadDone = false;
    const burstStart = Date.now();
    const { results, errors, done } = startBurst(client, { concurrency, keyPrefix: 'apicrash', more: (i) => i < n, total: n, log });
    const load = done.finally(() => {
      loadDone = true;
    });

    const failures: string[] = [];
    const openAtKill: number[] = [];
    const restartSeconds: string[] = [];
    let restartedAt = Date.now();
    for (let i = 1; i <= kills; i += 1) {
      // kill at evenly spaced points of the burst (by charges applied), at least 2 s after the last restart
      await sleep(2_000);
      while (!loadDone && (await stack.stubStats()).charges_applied < (n * i) / (kills + 1)) await sleep(100);
      if (loadDone) {
        failures.push(`the burst ended before kill ${i}: the drill proved nothing`);
        break;
      }
      const open = (await stack.client.workflow.count(OPEN_CHECKOUTS)).count;
      const charged = (await stack.stubStats()).charges_applied;
      const killedAt = Date.now();
      await stack.api.service.stop('SIGKILL');
      openAtKill.push(open);
      log(`kill ${i}/${kills}: api SIGKILLed with ${open} checkouts open, ${charged} charged; starting a new one on the same port`);
      await stack.startApi();
      restartedAt = Date.now();
      restartSeconds.push(((restartedAt - killedAt) / 1000).toFixed(1));
      log(`kill ${i}/${kills}: the new api ready ${restartSeconds.at(-1)} s after the kill`);
    }
    await load;
    const burstMs = Date.now() - burstStart;

    const settledMs = await stack.waitUntilSettled(120_000, (open, pending) => log(`  ... settling: ${open} open, ${pending} pending`));
    const settleAfterRestartMs = Date.now() - restartedAt;
    const postings = await stack.pool.query<{ n: number; dup: number }>(
      `SELECT count(*)::int AS n, (count(*) - count(DISTINCT workflow_id))::int AS dup FROM ledger_transactions WHERE step = 'charge'`,
    );
    const stats = await stack.stubStats();
    const handedOver = await timedOutTasks(stack.client);
    const notCompleted = results.filter((r) => r.status !== 'completed' || (r.httpStatus !== 201 && r.httpStatus !== 200));

    if (errors.length > 0) failures.push(`${errors.length} checkouts gave up: ${errors[0]}`);
    if (notCompleted.length > 0) {
      const first = notCompleted[0] as CheckoutResult;
      failures.push(`${notCompleted.length} checkouts did not end completed (201/200): ${first.idempotencyKey} ${first.status} ${first.httpStatus}`);
    }
    if (postings.rows[0]?.n !== n || postings.rows[0]?.dup !== 0) failures.push(`ledger charge postings ${postings.rows[0]?.n} (${postings.rows[0]?.dup} duplicates), expected ${n} (0)`);
    if (stats.charges_applied !== n) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n}`);
    if (settledMs < 0) failures.push('checkouts still running or pending 120 s after the load ended');
    return {
      rows: [
        ['logical checkouts', n],
        ['api kills (SIGKILL, new api on the same port)', openAtKill.length],
        ['checkouts open at each kill', openAtKill.join(', ')],
        ['kill to new api ready', `${restartSeconds.join(', ')} s`],
        ['answers by HTTP status', JSON.stringify(Object.fromEntries([...counts.answers].sort()))],
        ['connection errors (retried, same key)', counts.connectionErrors],
        ['outcomes', JSON.stringify(tally(results))],
        ['checkouts with a workflow task timed out (handed over)', handedOver],
        ['ledger charge postings (duplicates)', `${postings.rows[0]?.n} (${postings.rows[0]?.dup})`],
        ['stub charges applied / replays', `${stats.charges_applied} / ${stats.replays}`],
        ['duration of the burst', `${(burstMs / 1000).toFixed(1)} s`],
        ['time to settle after the last restart', `${(settleAfterRestartMs / 1000).toFixed(1)} s`],
      ],
      failures,
    };
  },
};
