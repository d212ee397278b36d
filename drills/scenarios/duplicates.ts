// docs/design.md, "Failure scenarios and drills", scenario 1: logical checkouts each sent 1-5 times, some concurrently.
import type { Drill } from '../drill';
import { drive, logicalCheckouts, percentile, tally } from '../load';

export const duplicates: Drill = {
  name: 'duplicates',
  summary: '1,000 logical checkouts, each sent 1-5 times, some at once: exactly 1,000 charges and postings',
  fullDuration: 'about 2 min',
  async run({ short, log, startStack }) {
    const stack = await startStack();
    const n = short ? 200 : 1_000;
    const items = logicalCheckouts(n, 'dup', (i) => ({ copies: 1 + (i % 5), parallel: i % 3 === 0 }));
    log(`sending ${n} logical checkouts, ${items.reduce((s, i) => s + (i.copies ?? 1), 0)} requests`);
    const load = await drive(stack, items, { concurrency: 16, log });
    await stack.waitUntilSettled(120_000);
    const stats = await stack.stubStats();
    const postings = Number((await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger_transactions WHERE step = 'charge'`)).rows[0]?.n);
    const failures: string[] = [];
    if (stats.charges_applied !== n) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n}`);
    if (postings !== n) failures.push(`ledger postings ${postings}, expected ${n}`);
    if (load.errors.length > 0) failures.push(`${load.errors.length} checkouts gave up: ${load.errors[0]}`);
    return {
      rows: [
        ['logical checkouts', n],
        ['requests sent', load.requestsSent],
        ['outcomes', JSON.stringify(tally(load.results))],
        ['stub charges applied', stats.charges_applied],
        ['stub replays', stats.replays],
        ['ledger charge postings', postings],
        ['client latency p50 / p99', `${percentile(load.latenciesMs, 50).toFixed(0)} / ${percentile(load.latenciesMs, 99).toFixed(0)} ms`],
        ['duration', `${(load.durationMs / 1000).toFixed(1)} s`],
      ],
      failures,
    };
  },
};
