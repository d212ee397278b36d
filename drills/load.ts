// Drives logical checkouts through the bundled client, with progress lines.
import crypto from 'node:crypto';
import { createCheckoutClient, type CheckoutRequest, type CheckoutResult } from '../client/checkout-client';

export interface LogicalCheckout {
  key: string;
  request: CheckoutRequest;
  /** How many times the same checkout is sent (1 = once); copies go at once when parallel. */
  copies?: number;
  parallel?: boolean;
}

export interface LoadResult {
  results: CheckoutResult[];
  errors: string[];
  requestsSent: number;
  latenciesMs: number[];
  durationMs: number;
}

export function logicalCheckouts(n: number, label: string, shape: (i: number) => Partial<LogicalCheckout> = () => ({})): LogicalCheckout[] {
  const run = crypto.randomUUID().slice(0, 8);
  return Array.from({ length: n }, (_, i) => ({
    key: `${label}-${run}-${i}`,
    request: { customer_id: `cust_${i % 50}`, amount_cents: 100 + (i % 9_000), currency: 'USD', payment_method_id: 'pm_card_visa' },
    ...shape(i),
  }));
}

/** Where the checkouts go: an api (or several) and the key to call it with (a DrillStack is one). */
export interface ApiTarget {
  apiUrl: string;
  /** every api: the checkouts and their copies are spread over them, so copies sent at once reach different apis */
  apiUrls?: readonly string[];
  apiKey: string;
}

/** Sends every logical checkout (and its copies) with at most `concurrency` in flight. */
export async function drive(
  api: ApiTarget,
  items: LogicalCheckout[],
  options: { concurrency: number; log: (line: string) => void; totalTimeoutMs?: number },
): Promise<LoadResult> {
  const clients = (api.apiUrls?.length ? api.apiUrls : [api.apiUrl]).map((baseUrl) =>
    createCheckoutClient({
      baseUrl,
      apiKey: api.apiKey,
      maxAttempts: 30,
      totalTimeoutMs: options.totalTimeoutMs ?? 300_000,
      requestTimeoutMs: 10_000,
    }),
  );
  const results: CheckoutResult[] = [];
  const errors: string[] = [];
  const latenciesMs: number[] = [];
  let requestsSent = 0;
  let done = 0;
  let next = 0;
  const started = Date.now();
  const ticker = setInterval(() => options.log(`  ... ${done}/${items.length} logical checkouts done (${requestsSent} sent)`), 5_000);
  // copy c of checkout i goes to api (i + c) mod the number of apis
  const one = async (item: LogicalCheckout, i: number, copy: number) => {
    const client = clients[(i + copy) % clients.length] as (typeof clients)[number];
    const t = performance.now();
    try {
      const result = await client.checkout(item.request, { idempotencyKey: item.key });
      results.push(result);
      requestsSent += result.attempts;
    } catch (err) {
      errors.push(`${item.key}: ${(err as Error).message}`);
    }
    latenciesMs.push(performance.now() - t);
  };
  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < items.length) {
          const i = next++;
          const item = items[i] as LogicalCheckout;
          const copies = item.copies ?? 1;
          if (item.parallel) await Promise.all(Array.from({ length: copies }, (_, c) => one(item, i, c)));
          else for (let c = 0; c < copies; c += 1) await one(item, i, c);
          done += 1;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  return { results, errors, requestsSent, latenciesMs, durationMs: Date.now() - started };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** "p50 / p99 / worst ms" of a list of milliseconds, as the drills' reports show latency. */
export function p50p99Worst(values: number[]): string {
  return `${percentile(values, 50).toFixed(0)} / ${percentile(values, 99).toFixed(0)} / ${Math.max(...values).toFixed(0)} ms`;
}

export function tally(results: CheckoutResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}
