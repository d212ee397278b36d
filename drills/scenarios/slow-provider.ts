// docs/design.md, "Failure scenarios and drills", scenario 6: the provider takes 8 s to answer. The api still answers every
// checkout within its 3 s budget (202 + Location), /healthz stays fast, and once
// the provider is quick again every checkout completes with one charge.
import type { Drill } from '../drill';
import { drive, logicalCheckouts, percentile } from '../load';

const LATENCY_MS = 8_000;
const API_LIMIT_MS = 3_000 + 500; // the api budget plus a margin for the trip
const HEALTHZ_LIMIT_MS = 200;
// Full: the traffic of a normal day keeps arriving while the provider is slow
// (5 new checkouts/s for 40 s), so hundreds are in flight at once. Not all 200 in
// the same millisecond: that measures how fast 2 cores start workflows, which
// is the bench's job, not this drill's.
const FULL_RATE_PER_S = 5;
const WARM_UP = 10; // checkouts first, so the api's connections are open: the drill is about the provider, not a cold start

export const slowProvider: Drill = {
  name: 'slow-provider',
  summary: 'provider latency 8 s: every checkout answered 202 within 3 s, /healthz fast, then all complete',
  fullDuration: 'about 2 min',
  async run({ short, log, startStack }) {
    // the timed-out charges open the breaker; the short run waits 5 s for its probe instead of 30 s
    const stack = await startStack(short ? { env: { BREAKER_OPEN_MS: '5000' } } : {});
    const n = short ? 20 : 200;
    await drive(stack, logicalCheckouts(WARM_UP, 'slow-warmup'), { concurrency: WARM_UP, log });
    await stack.setFaults({ latency_ms: LATENCY_MS });

    // /healthz every 100 ms while the checkouts are in flight
    const healthz: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t = performance.now();
        const ok = await fetch(`${stack.apiUrl}/healthz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.ok, () => false);
        healthz.push(ok ? performance.now() - t : Infinity);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const spacingMs = short ? 0 : 1_000 / FULL_RATE_PER_S;
    log(`provider latency ${LATENCY_MS} ms; sending ${n} checkouts ${short ? 'at once' : `at ${FULL_RATE_PER_S}/s`}`);
    const items = logicalCheckouts(n, 'slow');
    const answers = await Promise.all(
      items.map(async (item, i) => {
        await new Promise((r) => setTimeout(r, i * spacingMs));
        const t = performance.now();
        const answer = await fetch(`${stack.apiUrl}/checkout`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...stack.authHeaders(), 'idempotency-key': item.key },
          body: JSON.stringify(item.request),
          signal: AbortSignal.timeout(15_000),
        }).then(
          async (r) => ({ status: r.status as number | string, body: (await r.json().catch(() => undefined)) as { error?: { message?: string } } | undefined }),
          (err: Error) => ({ status: err.name === 'TimeoutError' ? 'timeout' : 'network error', body: undefined }),
        );
        return { item, status: answer.status, why: answer.body?.error?.message, ms: performance.now() - t };
      }),
    );
    polling = false;
    await poller;
    const statuses: Record<string, number> = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    const latencies = answers.map((a) => a.ms);
    log(`answers ${JSON.stringify(statuses)}, worst ${Math.max(...latencies).toFixed(0)} ms`);
    // charge attempts time out at 2 s, which the breaker counts as failures
    const breaker = (await stack.pool.query<{ state: string }>(`SELECT state FROM provider_breakers`)).rows[0]?.state ?? 'closed';

    log('provider latency back to 0; waiting for every checkout to complete');
    await stack.setFaults({ latency_ms: 0 });
    const recoveryStart = Date.now();
    const wrong = answers.filter((a) => a.status !== 202 && a.status !== 201);
    if (wrong.length > 0) {
      // a caller resends a refused checkout with its key; without that its reserved payment would wait for ever
      log(`resending the ${wrong.length} checkouts not accepted, with the same keys`);
      await drive(stack, wrong.map((a) => a.item), { concurrency: 8, log });
    }
    const settled = await stack.waitUntilSettled(180_000, (open, pending) => log(`  ... ${open} open, ${pending} pending`));
    const settledMs = settled < 0 ? -1 : Date.now() - recoveryStart;
    const stats = await stack.stubStats();
    const completed = Number(
      (await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE status = 'completed'`)).rows[0]?.n,
    );

    const failures: string[] = [];
    const reasons: Record<string, number> = {};
    for (const a of wrong) {
      const reason = `${a.status} ${a.why ?? ''}`.trim();
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
    if (wrong.length > 0) failures.push(`${wrong.length} answers were not 202/201: ${JSON.stringify(reasons)}`);
    const late = answers.filter((a) => a.ms > API_LIMIT_MS);
    if (late.length > 0) failures.push(`${late.length} answers took over ${API_LIMIT_MS} ms (worst ${Math.max(...latencies).toFixed(0)} ms)`);
    const worstHealthz = Math.max(...healthz);
    if (!(worstHealthz < HEALTHZ_LIMIT_MS)) failures.push(`/healthz took ${worstHealthz.toFixed(0)} ms (limit ${HEALTHZ_LIMIT_MS} ms)`);
    if (settledMs < 0) failures.push('checkouts still open 180 s after the provider became fast again');
    if (stats.charges_applied !== n + WARM_UP) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n + WARM_UP}`);
    if (completed !== n + WARM_UP) failures.push(`${completed} payments completed, expected ${n + WARM_UP}`);
    return {
      rows: [
        [`logical checkouts (sent ${short ? 'at once' : `at ${FULL_RATE_PER_S}/s`}, after ${WARM_UP} to warm up)`, n],
        ['provider latency', `${LATENCY_MS} ms`],
        ['answers', JSON.stringify(statuses)],
        ['api latency p50 / p99 / worst', `${percentile(latencies, 50).toFixed(0)} / ${percentile(latencies, 99).toFixed(0)} / ${Math.max(...latencies).toFixed(0)} ms (limit ${API_LIMIT_MS})`],
        ['/healthz samples, p99 / worst', `${healthz.length}, ${percentile(healthz, 99).toFixed(1)} / ${worstHealthz.toFixed(1)} ms (limit ${HEALTHZ_LIMIT_MS})`],
        ['breaker after the answers', breaker],
        ['time to complete after latency 0', settledMs < 0 ? 'not settled' : `${(settledMs / 1000).toFixed(1)} s`],
        ['provider attempts (with the warm-up)', stats.attempts],
        ['stub charges applied / payments completed (with the warm-up)', `${stats.charges_applied} / ${completed}`],
      ],
      failures,
    };
  },
};
