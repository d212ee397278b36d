// Postgres down, in the middle of a burst of checkouts, for longer than the
// recording steps' old give-up window. An unreachable database is not a
// refusal: checkouts already charged wait in their ledger step (jittered, for
// as long as the payment may stay pending, PAYMENT_PENDING_MAX_MS, 24 h) and
// complete when Postgres is back. No refund, one charge each, the ledger
// balanced, nothing pending.
//
// The old policy gave up after 50 attempts (about 7.5 minutes at the default
// intervals) and refunded. The drill scales that window down by configuration
// so a short outage outlasts it: the worker's ledger retry intervals
// (LEDGER_RETRY_INITIAL_MS, LEDGER_RETRY_MAX_INTERVAL_MS) and the old policy's
// attempt cap (LEDGER_OLD_POLICY_MAX_ATTEMPTS, OLD_ATTEMPTS here). It fails
// unless some checkout's ledger step failed that many attempts during the
// outage (else it proved nothing), and it fails on any refund, which is what
// the old policy does to exactly those checkouts. To see it fail that way, run it with
// the pending window off (the old policy, still selectable):
//   PAYMENT_PENDING_MAX_MS=0 npm run drill -- db-outage --short
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { createCheckoutClient } from '../../client/checkout-client';
import type { ActivityBudgets, CheckoutInput } from '../../domain/checkout';
import { LEDGER_RETRY } from '../../domain/retry-policies';
import { startBurst } from '../client-burst';
import type { Drill } from '../drill';
import type { DrillStack, Part } from '../drill-stack';
import { tally } from '../load';

// the worker's ledger retries in this drill: full jitter below min(max, initial x 2^(attempt-1))
const LEDGER_INITIAL_MS = 50;
const LEDGER_MAX_INTERVAL_MS = 500;
/** The old policy's attempt cap in this drill (LEDGER_OLD_POLICY_MAX_ATTEMPTS; LEDGER_RETRY.oldPolicyMaximumAttempts in production). */
const OLD_ATTEMPTS = Math.min(10, LEDGER_RETRY.oldPolicyMaximumAttempts);
/** The longest the old policy's attempts could wait between them in all, at these intervals (every delay at its ceiling). */
/** Postgres is stopped again, later in the burst, while no outage has caught a ledger step. */
const MAX_OUTAGES = 3;
const OLD_WINDOW_MS = Array.from({ length: OLD_ATTEMPTS - 1 }, (_, i) => Math.min(LEDGER_MAX_INTERVAL_MS, LEDGER_INITIAL_MS * 2 ** i)).reduce((a, b) => a + b, 0);

/** The highest ledger attempt logged for each checkout workflow (recording-failed lines), and when, by every process that runs checkout activities. */
function ledgerAttemptsSeen(parts: Part[]): {
  perWorkflow: Map<string, number>;
  failedAttempts: () => number;
  msPerAttempt: () => number;
  errors: Map<string, number>;
} {
  const perWorkflow = new Map<string, number>();
  const errors = new Map<string, number>();
  const span = new Map<string, { first: number; last: number; attempts: number }>();
  let failed = 0;
  const seeLine = (line: string) => {
    if (!line.includes('"activity":"recordCompletedPayment"') || !line.includes('will retry')) return;
    const workflowId = /"workflowId":"([^"]+)"/.exec(line)?.[1];
    const attempt = Number(/"attempt":(\d+)/.exec(line)?.[1]);
    if (!workflowId || !Number.isFinite(attempt)) return;
    failed += 1;
    const err = (/"err":"([^"]*)"/.exec(line)?.[1] ?? 'unknown').replace(/\d+\.\d+\.\d+\.\d+:\d+/g, '<addr>');
    errors.set(err, (errors.get(err) ?? 0) + 1);
    perWorkflow.set(workflowId, Math.max(perWorkflow.get(workflowId) ?? 0, attempt));
    const time = Number(/"time":(\d+)/.exec(line)?.[1]);
    if (Number.isFinite(time)) {
      const s = span.get(workflowId) ?? { first: time, last: time, attempts: 0 };
      span.set(workflowId, { first: Math.min(s.first, time), last: Math.max(s.last, time), attempts: s.attempts + 1 });
    }
  };
  for (const part of parts) {
    let partial = '';
    part.service.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(seeLine);
    });
  }
  // wall time per failed attempt, over the checkouts that failed at least twice
  const msPerAttempt = () => {
    const spans = [...span.values()].filter((s) => s.attempts > 1);
    const ms = spans.reduce((sum, s) => sum + (s.last - s.first), 0);
    const gaps = spans.reduce((sum, s) => sum + s.attempts - 1, 0);
    return gaps > 0 ? ms / gaps : NaN;
  };
  return { perWorkflow, failedAttempts: () => failed, msPerAttempt, errors };
}

/** The ledger budgets the api put in a checkout's workflow input (its history's first event). */
async function inputBudgets(stack: DrillStack, workflowId: string): Promise<ActivityBudgets | undefined> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  if (!payloads?.length) return undefined;
  // encrypted in the history: read through the client's converter
  return (await decodeFromPayloadsAtIndex<CheckoutInput>(stack.client.options.loadedDataConverter, 0, payloads)).budgets;
}

async function count(stack: DrillStack, sql: string): Promise<number> {
  return Number((await stack.pool.query<{ n: number }>(sql)).rows[0]?.n);
}

export const dbOutage: Drill = {
  name: 'db-outage',
  summary: 'Postgres stopped mid-burst for longer than the old ledger give-up window: all complete, no refund, one charge each',
  fullDuration: 'about 2.5 min',
  async run({ short, log, startStack }) {
    // enough for a second or third outage later in the burst, if the first caught no ledger step
    const n = short ? 120 : 240;
    const downMs = short ? 25_000 : 60_000;
    const concurrency = 16;
    const failures: string[] = [];
    if (downMs <= OLD_WINDOW_MS) throw new Error(`the outage (${downMs} ms) must outlast the old give-up window (${OLD_WINDOW_MS} ms)`);
    const stack = await startStack({
      env: {
        // charges take a while, so many are in flight (then recording) when Postgres stops
        LATENCY_MS: '800',
        // the api passes the old policy's cap in each workflow input; the pending window
        // (PAYMENT_PENDING_MAX_MS) is left to its default, 24 h, or to the caller's environment
        LEDGER_OLD_POLICY_MAX_ATTEMPTS: String(OLD_ATTEMPTS),
        // for the worker and for the api's hosted worker: either may run a checkout's ledger step
        LEDGER_RETRY_INITIAL_MS: String(LEDGER_INITIAL_MS),
        LEDGER_RETRY_MAX_INTERVAL_MS: String(LEDGER_MAX_INTERVAL_MS),
      },
    });
    const seen = ledgerAttemptsSeen([...stack.workers, stack.api]);
    const pendingWindow = process.env.PAYMENT_PENDING_MAX_MS === undefined ? 'default (24 h)' : `${process.env.PAYMENT_PENDING_MAX_MS} ms (from the environment)`;
    log(
      `ledger retries: full jitter ${LEDGER_INITIAL_MS}-${LEDGER_MAX_INTERVAL_MS} ms, so the old policy's ${OLD_ATTEMPTS} attempts wait at most ` +
        `${(OLD_WINDOW_MS / 1000).toFixed(1)} s between them; pending window ${pendingWindow}; Postgres will be down ${downMs / 1000} s`,
    );

    // the burst: every logical checkout through the bundled client, same key on every retry
    // waits at most 2 s between tries, so the burst resumes soon after Postgres is back
    const client = createCheckoutClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey, maxAttempts: 60, maxDelayMs: 2_000, totalTimeoutMs: downMs + 120_000, requestTimeoutMs: 10_000 });
    const { results, errors, done: load } = startBurst(client, { concurrency, keyPrefix: 'dbout', more: (i) => i < n, total: n, log });

    // stop Postgres once the burst is well under way, with many checkouts in flight
    // (their charges then finish into the ledger step); bounded: never later than 20 s in
    const pendingNow = () => count(stack, `SELECT count(*)::int AS n FROM payments WHERE status = 'pending'`);
    // charging now: stamped before the provider call, so it will finish into the ledger step while Postgres is down
    // (without this the stop could land when every in-flight checkout was still before its charge: then nothing waits in the ledger)
    const chargingNow = () => count(stack, `SELECT count(*)::int AS n FROM payments WHERE status = 'pending' AND charge_attempted_at IS NOT NULL`);
    // An outage proves something only if it caught a checkout between its charge and its ledger
    // step; in CI one stop in three caught none (every in-flight one then waited in its charge
    // step instead). Then Postgres is stopped again, later in the same burst, up to MAX_OUTAGES.
    const outages: Array<{ ms: number; pendingAtStop: number }> = [];
    let attemptsDuringOutage = new Map<string, number>();
    while (outages.length < MAX_OUTAGES && ![...attemptsDuringOutage.values()].some((a) => a >= OLD_ATTEMPTS)) {
      const burstDeadline = Date.now() + 20_000;
      const doneBefore = results.length;
      while (
        Date.now() < burstDeadline &&
        (results.length < doneBefore + Math.ceil(n / 10) || (await pendingNow()) < concurrency / 2 || (await chargingNow()) < 2)
      ) {
        await sleep(50);
      }
      if (results.length + errors.length >= n) break;
      const pendingAtStop = await pendingNow();
      log(`stopping Postgres (outage ${outages.length + 1}) with ${results.length}/${n} checkouts done and ${pendingAtStop} pending`);
      const stoppedAt = Date.now();
      await stack.postgres.service.stop();
      await sleep(downMs);
      await stack.startPostgres();
      attemptsDuringOutage = new Map(seen.perWorkflow);
      outages.push({ ms: Date.now() - stoppedAt, pendingAtStop });
      log(`Postgres back after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s; ${attemptsDuringOutage.size} checkouts have waited in their ledger step so far`);
    }

    await load;
    const settledMs = await stack.waitUntilSettled(120_000, (open, pending) => log(`  ... settling: ${open} open, ${pending} pending`));

    const stats = (await stack.stubStats()) as Awaited<ReturnType<DrillStack['stubStats']>> & { refunds_applied?: number };
    const completed = await count(stack, `SELECT count(*)::int AS n FROM payments WHERE status = 'completed'`);
    const refunded = await count(stack, `SELECT count(*)::int AS n FROM payments WHERE status = 'refunded'`);
    const chargePostings = await count(stack, `SELECT count(*)::int AS n FROM ledger_transactions WHERE step = 'charge'`);
    const reversals = await count(stack, `SELECT count(*)::int AS n FROM ledger_transactions WHERE step = 'refund'`);
    const failedWorkflows = (await stack.client.workflow.count('ExecutionStatus = "Failed" AND WorkflowType = "checkout"')).count;
    // what the api really passed: the drill proves something only if its scaled-down old cap is in the inputs
    const someWorkflow = (await stack.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM payments LIMIT 1')).rows[0]?.workflow_id;
    const budgets = someWorkflow ? await inputBudgets(stack, someWorkflow) : undefined;
    const inputCap = budgets?.ledgerOldPolicyMaxAttempts ?? LEDGER_RETRY.oldPolicyMaximumAttempts;
    const inputWindow = budgets?.paymentPendingMaxMs ? `${budgets.paymentPendingMaxMs} ms` : 'none (the old policy)';
    const maxAttempt = Math.max(0, ...attemptsDuringOutage.values());
    // a step whose attempt `inputCap` failed is one the old policy gives up on (and refunds)
    const outlastedOldCap = [...attemptsDuringOutage.values()].filter((a) => a >= inputCap).length;
    const outcomes = tally(results);

    if (inputCap !== OLD_ATTEMPTS) {
      failures.push(
        `the workflow inputs carry an old-policy cap of ${inputCap}, not ${OLD_ATTEMPTS}: the api does not pass LEDGER_OLD_POLICY_MAX_ATTEMPTS (api/build.ts), so the drill cannot show the old policy's give-up`,
      );
    }
    if (outlastedOldCap === 0) {
      failures.push(
        `no ledger step failed ${inputCap} attempts during the outage (highest ${maxAttempt}): the outage did not outlast the old give-up window, ` +
          'so the drill proves nothing (do LEDGER_RETRY_* reach the activities, in the worker and in the api hosted worker? worker/build.ts)',
      );
    }
    if (errors.length > 0) failures.push(`${errors.length} checkouts gave up: ${errors[0]}`);
    if ((outcomes.completed ?? 0) !== n) failures.push(`client outcomes ${JSON.stringify(outcomes)}, expected ${n} completed`);
    if (settledMs < 0) failures.push('checkouts still pending or running 120 s after the load ended');
    if (completed !== n) failures.push(`completed payments ${completed}, expected ${n}`);
    if (refunded !== 0 || (stats.refunds_applied ?? 0) !== 0) failures.push(`${refunded} refunded payments, ${stats.refunds_applied ?? 0} refunds at the provider; expected none`);
    if (stats.charges_applied !== n) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n} (one each)`);
    if (chargePostings !== n || reversals !== 0) failures.push(`ledger: ${chargePostings} charge postings and ${reversals} reversals, expected ${n} and 0`);
    if (failedWorkflows !== 0) failures.push(`${failedWorkflows} checkout workflows failed`);

    return {
      rows: [
        ['logical checkouts (concurrency)', `${n} (${concurrency})`],
        [
          'Postgres outages (stop, start, serving)',
          outages.map((o) => `${(o.ms / 1000).toFixed(1)} s with ${o.pendingAtStop} payments pending at the stop`).join('; ') || 'none (the burst ended first)',
        ],
        ['pending window (PAYMENT_PENDING_MAX_MS)', pendingWindow],
        ['old policy in this drill', `${OLD_ATTEMPTS} attempts, at most ${(OLD_WINDOW_MS / 1000).toFixed(1)} s of waits between them`],
        ['ledger budgets in the workflow inputs', `pending window ${inputWindow}, old-policy cap ${inputCap} attempts`],
        ['checkouts waiting in the ledger step during the outages', attemptsDuringOutage.size],
        [`  of them failing ${inputCap} attempts or more (the old policy refunds these)`, outlastedOldCap],
        ['  highest ledger attempt', maxAttempt],
        ['ledger attempts that failed in all (wall time each)', `${seen.failedAttempts()} (${seen.msPerAttempt().toFixed(0)} ms)`],
        ['ledger errors seen (count)', [...seen.errors].map(([err, k]) => `${err} (${k})`).join('; ') || 'none'],
        ['outcomes', JSON.stringify(outcomes)],
        ['requests sent (POSTs)', results.reduce((sum, r) => sum + r.attempts, 0)],
        ['stub charges applied / refunds', `${stats.charges_applied} / ${stats.refunds_applied ?? 0}`],
        ['payments completed / refunded', `${completed} / ${refunded}`],
        ['ledger charge postings / reversals', `${chargePostings} / ${reversals}`],
        ['failed checkout workflows', failedWorkflows],
        ['time to settle after the load', settledMs < 0 ? 'not settled' : `${(settledMs / 1000).toFixed(1)} s`],
      ],
      failures,
    };
  },
};
