// docs/design.md, "Failure scenarios and drills", scenario 1: logical checkouts each sent 1-5 times, some concurrently
// (on the cluster, copies sent at once go to both apis).
// At the end every api's and worker's /metrics is scraped: the charges the
// side-effects counter says were applied, summed over the processes, must be
// the charges the stub made.
import { freePort } from '../../stack/free-port';
import type { Drill } from '../drill';
import { drive, logicalCheckouts, percentile, tally } from '../load';

const CHARGED = 'payment_side_effects_applied_total{operation="charge",outcome="succeeded"}';

// what the closing note shows of each scrape: our new series (no buckets) and the names of the SDK's own
const SHOWN = /^(payment_|provider_|payments_|outbox_|webhook_deliveries|webhook_oldest|db_pool_|backlog_metrics|sdk_metrics)(?!.*_bucket\{)/;

export const duplicates: Drill = {
  name: 'duplicates',
  summary: '1,000 logical checkouts, each sent 1-5 times, some at once: exactly 1,000 charges and postings, and as many in the side-effects metric',
  fullDuration: 'about 2 min',
  topologies: ['dev', 'cluster'],
  async run({ short, log, startStack, topology }) {
    // the cluster gives each process a metrics port of its own; on 'dev' the drill picks the two
    const ports = topology === 'dev' ? { API_METRICS_PORT: String(await freePort()), WORKER_METRICS_PORT: String(await freePort()) } : undefined;
    const stack = await startStack({ env: ports });
    const n = short ? 200 : 1_000;
    const items = logicalCheckouts(n, 'dup', (i) => ({ copies: 1 + (i % 5), parallel: i % 3 === 0 }));
    log(`sending ${n} logical checkouts, ${items.reduce((s, i) => s + (i.copies ?? 1), 0)} requests`);
    const load = await drive(stack, items, { concurrency: 16, log });
    await stack.waitUntilSettled(120_000);
    const stats = await stack.stubStats();
    const postings = Number((await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger_transactions WHERE step = 'charge'`)).rows[0]?.n);
    const metrics = await chargesInMetrics(stack.metricsUrls, stats.charges_applied);
    for (const [process, text] of Object.entries(metrics.scrapes)) {
      const sdkNames = new Set(text.split('\n').flatMap((l) => (l.startsWith('# TYPE temporal_') ? [l.split(' ')[2]] : [])));
      log(`${process} /metrics: the SDK's ${[...sdkNames].sort().join(', ')}`);
      for (const line of text.split('\n').filter((l) => SHOWN.test(l))) log(`  ${line}`);
    }
    const failures: string[] = [];
    if (stats.charges_applied !== n) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n}`);
    if (postings !== n) failures.push(`ledger postings ${postings}, expected ${n}`);
    if (metrics.total !== stats.charges_applied) failures.push(`${CHARGED} summed over ${Object.keys(metrics.byProcess).join(', ')} is ${metrics.total}, the stub applied ${stats.charges_applied}`);
    for (const [process, text] of Object.entries(metrics.scrapes)) {
      if (!text.includes('temporal_')) failures.push(`the ${process}'s /metrics has no Temporal SDK metrics`);
    }
    if (load.errors.length > 0) failures.push(`${load.errors.length} checkouts gave up: ${load.errors[0]}`);
    return {
      rows: [
        ['logical checkouts', n],
        ['requests sent', load.requestsSent],
        ['outcomes', JSON.stringify(tally(load.results))],
        ['stub replays', stats.replays],
        ['ledger charge postings', postings],
        ['client latency p50 / p99', `${percentile(load.latenciesMs, 50).toFixed(0)} / ${percentile(load.latenciesMs, 99).toFixed(0)} ms`],
        ['duration', `${(load.durationMs / 1000).toFixed(1)} s`],
        ['stub charges applied', stats.charges_applied],
        ['side effects applied (charge, succeeded)', `${metrics.total} (${Object.entries(metrics.byProcess).map(([p, n]) => `${p} ${n}`).join(', ')})`],
      ],
      failures,
    };
  },
};

/**
 * The side-effects counter summed over every api and worker. It moves just
 * after each recording commit, so a scrape may trail the database by a few
 * milliseconds: scraped again for up to 5 s until it reaches `expected`.
 */
async function chargesInMetrics(
  targets: Array<{ process: string; url: string }>,
  expected: number,
): Promise<{ total: number; byProcess: Record<string, number>; scrapes: Record<string, string> }> {
  const until = Date.now() + 5_000;
  for (;;) {
    const scrapes: Record<string, string> = {};
    for (const t of targets) scrapes[t.process] = await (await fetch(t.url, { signal: AbortSignal.timeout(10_000) })).text();
    const byProcess = Object.fromEntries(Object.entries(scrapes).map(([p, text]) => [p, seriesValue(text, CHARGED)]));
    const total = Object.values(byProcess).reduce((sum, n) => sum + n, 0);
    if (total === expected || Date.now() > until) return { total, byProcess, scrapes };
    await new Promise((r) => setTimeout(r, 500));
  }
}

function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 0);
}
