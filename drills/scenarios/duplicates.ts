// docs/design.md, "Failure scenarios and drills", scenario 1: logical checkouts each sent 1-5 times, some concurrently.
// At the end the api's and the worker's /metrics are scraped: the charges the
// side-effects counter says were applied, summed over both processes, must be
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
  async run({ short, log, startStack }) {
    const ports = { api: await freePort(), worker: await freePort() };
    const stack = await startStack({ env: { API_METRICS_PORT: String(ports.api), WORKER_METRICS_PORT: String(ports.worker) } });
    const n = short ? 200 : 1_000;
    const items = logicalCheckouts(n, 'dup', (i) => ({ copies: 1 + (i % 5), parallel: i % 3 === 0 }));
    log(`sending ${n} logical checkouts, ${items.reduce((s, i) => s + (i.copies ?? 1), 0)} requests`);
    const load = await drive(stack, items, { concurrency: 16, log });
    await stack.waitUntilSettled(120_000);
    const stats = await stack.stubStats();
    const postings = Number((await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger_transactions WHERE step = 'charge'`)).rows[0]?.n);
    const metrics = await chargesInMetrics(ports, stats.charges_applied);
    for (const [process, text] of Object.entries(metrics.scrapes)) {
      const sdkNames = new Set(text.split('\n').flatMap((l) => (l.startsWith('# TYPE temporal_') ? [l.split(' ')[2]] : [])));
      log(`${process} /metrics: the SDK's ${[...sdkNames].sort().join(', ')}`);
      for (const line of text.split('\n').filter((l) => SHOWN.test(l))) log(`  ${line}`);
    }
    const failures: string[] = [];
    if (stats.charges_applied !== n) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n}`);
    if (postings !== n) failures.push(`ledger postings ${postings}, expected ${n}`);
    if (metrics.total !== stats.charges_applied) failures.push(`${CHARGED} summed over api and worker is ${metrics.total}, the stub applied ${stats.charges_applied}`);
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
        ['side effects applied (charge, succeeded)', `${metrics.total} (api ${metrics.byProcess.api}, worker ${metrics.byProcess.worker})`],
      ],
      failures,
    };
  },
};

/**
 * The side-effects counter summed over the api and the worker. It moves just
 * after each recording commit, so a scrape may trail the database by a few
 * milliseconds: scraped again for up to 5 s until it reaches `expected`.
 */
async function chargesInMetrics(
  ports: { api: number; worker: number },
  expected: number,
): Promise<{ total: number; byProcess: { api: number; worker: number }; scrapes: { api: string; worker: string } }> {
  const until = Date.now() + 5_000;
  for (;;) {
    const scrapes = {
      api: await (await fetch(`http://127.0.0.1:${ports.api}/metrics`)).text(),
      worker: await (await fetch(`http://127.0.0.1:${ports.worker}/metrics`)).text(),
    };
    const byProcess = { api: seriesValue(scrapes.api, CHARGED), worker: seriesValue(scrapes.worker, CHARGED) };
    const total = byProcess.api + byProcess.worker;
    if (total === expected || Date.now() > until) return { total, byProcess, scrapes };
    await new Promise((r) => setTimeout(r, 500));
  }
}

function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 0);
}
