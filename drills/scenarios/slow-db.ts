// docs/resilience.md, "The database breaker": the application's Postgres turns
// slow in the middle of a burst (a proxy between the api and Postgres holds
// every packet SLOW_MS, as lock contention or a congested link would), then
// recovers. With the database breaker on (DB_BREAKER=1), the api keeps
// answering within its budget (503 with Retry-After, or 201/202), its pool
// never runs out of connections, nothing is charged twice, and every checkout
// completes once the database is quick again.
import { createCheckoutClient } from '../../client/checkout-client';
import { freePort } from '../../stack/free-port';
import { startBurst } from '../client-burst';
import type { Drill } from '../drill';
import { startLatencyProxy } from '../latency-proxy';
import { p50p99Worst } from '../load';
import { answersByStatus, lateAnswers, requestTimer } from '../request-timer';

const API_LIMIT_MS = 3_000 + 500; // the api's budget plus a margin for the trip
const SLOW_MS = 2_000; // each packet, each way: a query takes 4 s and more

/** A value of one series in a Prometheus text page (the first line that names it). */
function metric(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

export const slowDb: Drill = {
  name: 'slow-db',
  summary: "the app's Postgres slow mid-burst: the database breaker answers 503 fast, the api's pool never saturates, all complete once",
  fullDuration: 'about 2 min',
  async run({ short, log, startStack }) {
    const metricsPort = await freePort();
    const openMs = short ? 10_000 : 30_000;
    const breakerEnv = { DB_BREAKER: '1', DB_BREAKER_OPEN_MS: String(openMs) };
    const stack = await startStack({ env: { API_METRICS_PORT: String(metricsPort) }, apiEnv: breakerEnv });
    // the api again, its database behind the proxy (the worker keeps a direct connection)
    const dbUrl = new URL(stack.databaseUrl);
    const proxy = await startLatencyProxy({ host: dbUrl.hostname, port: Number(dbUrl.port) });
    dbUrl.host = `127.0.0.1:${proxy.port}`;
    await stack.api.service.stop('SIGTERM');
    await stack.startApi({ DATABASE_URL: dbUrl.toString(), ...breakerEnv });
    log(`the api's Postgres is behind a proxy on :${proxy.port}; database breaker on, open ${openMs / 1000} s`);

    const timer = requestTimer();
    const client = createCheckoutClient({
      baseUrl: stack.apiUrl,
      apiKey: stack.apiKey,
      maxAttempts: 40,
      totalTimeoutMs: 300_000,
      requestTimeoutMs: 10_000,
      maxDelayMs: 5_000,
      onAttempt: (e) => timer.onAttempt(e),
    });
    const slowFor = short ? { fromS: 5, toS: 20, endS: 30 } : { fromS: 15, toS: 60, endS: 90 };
    const t0 = Date.now();
    const elapsedS = () => (Date.now() - t0) / 1000;
    const burst = startBurst(client, { concurrency: 6, keyPrefix: 'slow-db', more: () => elapsedS() < slowFor.endS, log });

    // the api's pool and breaker, every 250 ms
    const pool = { maxInUse: 0, maxWaiting: 0, size: NaN, breakerSeen: new Set<number>() };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const page = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.text(), () => '');
        if (page) {
          pool.maxInUse = Math.max(pool.maxInUse, metric(page, 'db_pool_connections{state="in_use"}'));
          pool.maxWaiting = Math.max(pool.maxWaiting, metric(page, 'db_pool_waiting_clients'));
          pool.size = metric(page, 'db_pool_max_connections');
          pool.breakerSeen.add(metric(page, 'db_breaker_state'));
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    await new Promise((r) => setTimeout(r, slowFor.fromS * 1_000));
    proxy.setDelayMs(SLOW_MS);
    log(`  ${elapsedS().toFixed(1)} s: every packet to and from the api's Postgres held ${SLOW_MS} ms`);
    await new Promise((r) => setTimeout(r, (slowFor.toS - slowFor.fromS) * 1_000));
    proxy.setDelayMs(0);
    log(`  ${elapsedS().toFixed(1)} s: the database is quick again`);
    await burst.done;
    sampling = false;
    await sampler;
    log(`  ${elapsedS().toFixed(1)} s: every customer answered; waiting for the stack to settle`);
    const settled = await stack.waitUntilSettled(120_000, (o, p) => log(`  ... ${o} open, ${p} pending`));
    await proxy.close();

    const refused = timer.durations.filter((d) => d.status === '503').length;
    const failures: string[] = [];
    const late = lateAnswers(timer.durations, API_LIMIT_MS);
    if (late) failures.push(late);
    if (!(pool.maxWaiting === 0 && pool.maxInUse < pool.size)) {
      failures.push(`the api's pool saturated: ${pool.maxInUse} of ${pool.size} connections in use, ${pool.maxWaiting} queries waiting at worst`);
    }
    if (!pool.breakerSeen.has(2)) failures.push('the database breaker never opened: the drill proved nothing');
    if (burst.errors.length > 0) failures.push(`${burst.errors.length} checkouts gave up, e.g. ${burst.errors[0]}`);
    const notCompleted = burst.results.filter((r) => r.status !== 'completed');
    if (notCompleted.length > 0) failures.push(`${notCompleted.length} checkouts ended ${notCompleted[0]?.status}`);
    if (settled < 0) failures.push('checkouts still open or pending 120 s after the last customer was answered');
    return {
      rows: [
        ['database slow', `every packet held ${SLOW_MS} ms each way, from ${slowFor.fromS} s to ${slowFor.toS} s of a ${slowFor.endS} s burst (6 customers at a time)`],
        ['checkouts', `${burst.results.length} completed of ${burst.started()} (${burst.errors.length} gave up)`],
        ['api answers (request, status)', JSON.stringify(answersByStatus(timer.durations))],
        ['answered 503 + Retry-After (breaker or 1 s dependency deadline)', refused],
        ['api answer p50 / p99 / worst', `${p50p99Worst(timer.durations.map((d) => d.ms))} (limit ${API_LIMIT_MS})`],
        ["api's pool at worst", `${pool.maxInUse} of ${pool.size} connections in use, ${pool.maxWaiting} queries waiting`],
        ['database breaker states seen (0 closed, 1 half-open, 2 open)', [...pool.breakerSeen].filter((v) => !Number.isNaN(v)).sort().join(', ')],
      ],
      failures,
    };
  },
};
