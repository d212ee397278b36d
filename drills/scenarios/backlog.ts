// docs/design.md, "Failure scenarios and drills", scenario 10: the provider is down while N checkouts queue, then
// back: the backlog drains at a bounded provider rate (the task queue's activity
// rate limit, WORKER_MAX_ACTIVITIES_PER_SECOND, enforced by Temporal across
// every worker), with no storm. Reports drain time and peak provider rate.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Drill } from '../drill';
import type { DrillStack } from '../drill-stack';
import { attemptsPerSecond, sampleProvider, type ProviderSample } from '../provider-rate';

// activities per second on the task queue, all kinds together (fraud, charge,
// ledger, notify); the short run's limit is low enough to bind on a small machine
const RATE_LIMIT = { full: 50, short: 20 };
// The limit is a token bucket on the server that also allows a burst of about one
// second's worth, and a dispatched activity reaches the provider after a variable
// delay: any 1 s may see up to twice the limit (the full run saw 67.8/s at 50/s).
// What it bounds is the rate over longer spans, so the check uses a 10 s window.
const CHECK_WINDOW_S = 10;
const MARGIN = 1.2;

interface Breaker {
  state: string;
  /** changed_at in ms: a probe that failed at once shows only as an open breaker that changed again */
  changedAt: number;
}

export const backlog: Drill = {
  name: 'backlog',
  summary: 'provider down while N checkouts queue, then back: the backlog drains at a bounded provider rate, no storm',
  // measured on the 2-core machine with 18,000: 23 min (582 s submitting, 778 s
  // draining at 23 checkouts/s); 43 min when the machine was shared with other work.
  // The first charges waited up to 43 min, inside CHARGE_TOTAL_TIMEOUT_MS (1 h); a
  // slower machine would see the oldest payments fail for good (502), and the drill fail.
  fullDuration: 'about 25 min for 18,000 checkouts (23 min measured; 43 min on a busy machine)',
  async run({ short, log, startStack }) {
    const n = short ? 200 : 18_000;
    const limit = short ? RATE_LIMIT.short : RATE_LIMIT.full;
    const stack = await startStack({
      workers: 2,
      // the short run waits 5 s for the breaker's probe instead of 30 s
      env: { WORKER_MAX_ACTIVITIES_PER_SECOND: String(limit), ...(short ? { BREAKER_OPEN_MS: '5000' } : {}) },
    });
    const failures: string[] = [];
    await stack.setFaults({ mode: 'unavailable', fail_rate: null });
    const sampler = sampleProvider<Breaker | undefined>(stack.stubUrl, {
      extra: async () => {
        const row = (await stack.pool.query<{ state: string; changed_at: Date }>(`SELECT state, changed_at FROM provider_breakers`)).rows[0];
        return row && { state: row.state, changedAt: row.changed_at.getTime() };
      },
    });
    const t0 = Date.now(); // the sampler's zero, near enough

    log(`provider down; submitting ${n} checkouts (plain POSTs, one key each, a 503 is resent with the same key)`);
    const submitted = await submit(stack, n, short ? 50 : 100, log);
    log(`submitted in ${(submitted.ms / 1000).toFixed(1)} s: ${JSON.stringify(submitted.answers)}, ${submitted.retried503} answers 503 resent`);
    if (submitted.answers[202] !== n) failures.push(`submitting: ${JSON.stringify(submitted.answers)}, expected ${n} answers 202`);
    // every checkout waits durably: pending, nothing charged; the breaker opened meanwhile
    for (let i = 0; i < 60 && sampler.samples.at(-1)?.extra?.state !== 'open'; i += 1) await sleep(500);
    const waiting = await count(stack, `SELECT count(*)::int AS n FROM payments WHERE status = 'pending'`);
    const down = await stack.stubStats();
    log(`${waiting} checkouts waiting, ${down.attempts} provider attempts while down; provider back`);

    await stack.setFaults({ mode: 'ok', fail_rate: null });
    const back = Date.now();
    const drainMs = await drain(stack, short ? 600_000 : 4 * 3_600_000, log);
    const samples = await sampler.stop();
    const after = await stack.stubStats();
    if (drainMs < 0) failures.push('the backlog did not drain in time, or payments are pending with no workflow (see the log)');
    if (after.charges_applied !== waiting) failures.push(`stub charges applied ${after.charges_applied}, checkouts accepted ${waiting}`);

    const backS = (back - t0) / 1000;
    const peak = (windowS: number, from: number) => {
      const rates = attemptsPerSecond(samples, windowS);
      return rates.reduce((max, rate, i) => ((samples[i] as ProviderSample<unknown>).t >= from ? Math.max(max, rate) : max), 0);
    };
    const drainAttempts = after.attempts - down.attempts;
    // the drain is what the limit bounds; while submitting, a checkout's first charge runs as a local
    // activity in the api's hosted worker (eager start) at the arrival rate, outside the task queue's limit
    const checked = peak(CHECK_WINDOW_S, backS);
    if (checked > limit * MARGIN) failures.push(`peak provider rate over ${CHECK_WINDOW_S} s ${checked.toFixed(1)}/s, over the limit ${limit}/s`);
    return {
      rows: [
        ['checkouts queued while the provider was down', n],
        ['submit answers (503s resent with the same key)', `${JSON.stringify(submitted.answers)} in ${(submitted.ms / 1000).toFixed(1)} s (${submitted.retried503} resent)`],
        ['provider attempts while down', down.attempts],
        ['breaker, from provider_breakers (time from provider back)', breakerChanges(samples, (ms) => `${ms >= back ? '+' : ''}${((ms - back) / 1000).toFixed(1)} s`)],
        ['activity rate limit (task queue, 2 workers)', `${limit}/s, every activity kind together`],
        ['drain time (provider back to all settled)', drainMs < 0 ? 'not drained' : `${(drainMs / 1000).toFixed(1)} s`],
        [`peak provider rate draining, ${CHECK_WINDOW_S} s window (checked) / 1 s window`, `${checked.toFixed(1)} / ${peak(1, backS).toFixed(1)} per s (whole run: ${peak(CHECK_WINDOW_S, 0).toFixed(1)} / ${peak(1, 0).toFixed(1)})`],
        ['mean provider rate while draining', drainMs > 0 ? `${(drainAttempts / (drainMs / 1000)).toFixed(1)} per s` : '-'],
        ['provider attempts after recovery vs checkouts', `${drainAttempts} vs ${waiting}`],
        ['stub charges applied', after.charges_applied],
      ],
      failures,
    };
  },
};

/** POSTs n checkouts with unique keys, `concurrency` at a time, as a patient client: a 503 or a lost answer is resent with the same key. */
async function submit(stack: DrillStack, n: number, concurrency: number, log: (line: string) => void) {
  const run = crypto.randomUUID().slice(0, 8);
  const answers: Record<number, number> = {};
  let retried503 = 0;
  let next = 0;
  const started = Date.now();
  const ticker = setInterval(() => log(`  ... ${next}/${n} submitted`), 5_000);
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          const body = JSON.stringify({ customer_id: `cust_${i % 50}`, amount_cents: 100 + (i % 9_000), currency: 'USD', payment_method_id: 'pm_card_visa' });
          let status = 0;
          const giveUpAt = Date.now() + 600_000;
          for (let attempt = 1; (status === 0 || status === 503) && Date.now() < giveUpAt; attempt += 1) {
            if (attempt > 1) await sleep(1_000 * (0.5 + Math.random()));
            if (status === 503) retried503 += 1;
            try {
              const res = await fetch(`${stack.apiUrl}/checkout`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', ...stack.authHeaders(), 'idempotency-key': `backlog-${run}-${i}` },
                body,
                signal: AbortSignal.timeout(15_000),
              });
              await res.arrayBuffer();
              status = res.status;
            } catch {
              status = 0;
            }
          }
          answers[status] = (answers[status] ?? 0) + 1;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  return { answers, retried503, ms: Date.now() - started };
}

/**
 * Waits until no checkout runs and none is pending: the time it took, or -1 at
 * the timeout, or when payments stay pending with no workflow running for them.
 */
async function drain(stack: DrillStack, timeoutMs: number, log: (line: string) => void): Promise<number> {
  const started = Date.now();
  let lastLog = 0;
  let orphanedSince = 0;
  for (;;) {
    const open = (await stack.client.workflow.count('ExecutionStatus = "Running" AND WorkflowType = "checkout"')).count;
    const pending = await count(stack, `SELECT count(*)::int AS n FROM payments WHERE status = 'pending'`);
    if (open === 0 && pending === 0) return Date.now() - started;
    if (Date.now() - lastLog > 5_000) {
      log(`  ... draining: ${open} open, ${pending} pending, ${(await stack.stubStats()).charges_applied} charged`);
      lastLog = Date.now();
    }
    orphanedSince = open === 0 ? orphanedSince || Date.now() : 0;
    if (orphanedSince && Date.now() - orphanedSince > 30_000) {
      log(`${pending} payments pending with no workflow running for them`);
      return -1;
    }
    if (Date.now() - started > timeoutMs) return -1;
    await sleep(500);
  }
}

async function count(stack: DrillStack, sql: string): Promise<number> {
  return Number((await stack.pool.query<{ n: number }>(sql)).rows[0]?.n);
}

/** e.g. "closed -8.1 s, open -7.3 s, probe failed, open again +1.0 s, closed +11.2 s". */
function breakerChanges(samples: Array<ProviderSample<Breaker | undefined>>, at: (ms: number) => string): string {
  const changes: string[] = [];
  let previous: Breaker | undefined;
  for (const { extra } of samples) {
    if (!extra || extra.changedAt === previous?.changedAt) continue;
    const again = previous?.state === 'open' && extra.state === 'open';
    changes.push(`${again ? 'probe failed, open again' : extra.state} ${at(extra.changedAt)}`);
    previous = extra;
  }
  return changes.join(', ') || 'no breaker row';
}
