// A burst of checkouts through the bundled client, for the drills that break
// something while it runs (api-crash, rolling-deploy, db-outage). They had each
// copied the same loops, keys, progress line and answer counter; this is the one
// copy, so each drill keeps only what it breaks and what it checks.
import crypto from 'node:crypto';
import type { AttemptEvent, CheckoutClient, CheckoutResult } from '../client/checkout-client';

export interface AnswerCounts {
  /** Every request's answer, by HTTP status. */
  answers: Map<string, number>;
  /** Attempts that got no answer (a connection error; the client retries them with the same key). */
  connectionErrors: number;
  /** The client's onAttempt hook that fills the two above. */
  onAttempt: (event: AttemptEvent) => void;
}

export function countAnswers(): AnswerCounts {
  const counts: AnswerCounts = {
    answers: new Map<string, number>(),
    connectionErrors: 0,
    onAttempt: (event) => {
      if (event.httpStatus === undefined) counts.connectionErrors += 1;
      else counts.answers.set(String(event.httpStatus), (counts.answers.get(String(event.httpStatus)) ?? 0) + 1);
    },
  };
  return counts;
}

export interface BurstOptions {
  /** Checkouts in flight at once. */
  concurrency: number;
  /** Idempotency-Key of checkout i: `${keyPrefix}-${run}-${i}`, run fresh for each burst. */
  keyPrefix: string;
  /** Whether to start checkout i (the burst starts 0, 1, 2, ... while this holds): a fixed n, or while a deploy lasts. */
  more: (i: number) => boolean;
  /** The total in the progress line every 5 s; by default the checkouts started so far. */
  total?: number;
  /** Whether a checkout that gave up is recorded as `key: message` (the default) or as its message alone. */
  keyInErrors?: boolean;
  log: (line: string) => void;
}

export interface Burst {
  /** What the client returned, as the checkouts end. */
  results: CheckoutResult[];
  /** The checkouts that gave up (the client threw). */
  errors: string[];
  /** How many checkouts were started so far. */
  started: () => number;
  /** Settles when the last loop stops. */
  done: Promise<void>;
}

/** Starts the burst: `concurrency` loops, each sending the next checkout until `more` says stop. */
export function startBurst(client: CheckoutClient, options: BurstOptions): Burst {
  const { concurrency, keyPrefix, more, total, keyInErrors = true, log } = options;
  const run = crypto.randomUUID().slice(0, 8);
  const results: CheckoutResult[] = [];
  const errors: string[] = [];
  let next = 0;
  const ticker = setInterval(() => log(`  ... ${results.length + errors.length}/${total ?? next} checkouts done`), 5_000);
  const done = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (more(next)) {
        const i = next++;
        const request = { customer_id: `cust_${i % 50}`, amount_cents: 100 + (i % 9_000), currency: 'USD', payment_method_id: 'pm_card_visa' };
        const key = `${keyPrefix}-${run}-${i}`;
        try {
          results.push(await client.checkout(request, { idempotencyKey: key }));
        } catch (err) {
          errors.push(keyInErrors ? `${key}: ${(err as Error).message}` : (err as Error).message);
        }
      }
    }),
  )
    .then(() => undefined)
    .finally(() => clearInterval(ticker));
  return { results, errors, started: () => next, done };
}
