// Issue 8: a charge made at the provider with no ledger posting (money taken,
// nothing in our books) is reported by scheduled reconciliation exactly once,
// however many overlapping runs see it, with two workers polling and one run
// per Schedule tick.
//
// The invariant checker's "stub charges - refunds = completed payments" breaks
// by design once the charge is injected. The drill checks that it breaks by
// exactly that one charge, then settles it the way an operator would (refunds
// the charge at the provider) so the runner's unchanged check ends clean.
import crypto from 'node:crypto';
import type { Drill } from '../drill';
import type { DrillStack } from '../drill-stack';
import { checkInvariants } from '../invariants';
import { drive, logicalCheckouts, tally } from '../load';

const SCHEDULE_ID = 'reconciliation';

interface FinishedRun {
  run_id: string;
  scheduled_at: Date | null;
  window_since: Date;
  window_until: Date;
  started_at: Date;
}

export const reconciliation: Drill = {
  name: 'reconciliation',
  summary: 'a charge injected at the provider with no ledger posting is reported exactly once; one run per Schedule tick across two workers',
  fullDuration: 'about 2.5 min',
  async run({ short, log, startStack }) {
    const intervalMs = short ? 3_000 : 5_000;
    const settleMs = 3_000;
    const overlapMs = 60_000;
    const runsAfterInjection = short ? 3 : 8;
    const stack = await startStack({
      workers: 2,
      workerEnv: {
        RECONCILIATION_SCHEDULE_ID: SCHEDULE_ID,
        RECONCILIATION_INTERVAL_MS: String(intervalMs),
        RECONCILIATION_SETTLE_MS: String(settleMs),
        RECONCILIATION_OVERLAP_MS: String(overlapMs),
      },
    });
    const failures: string[] = [];
    const n = short ? 30 : 200;
    log(`${n} checkouts; the Schedule ticks every ${intervalMs / 1000} s (settle ${settleMs / 1000} s, overlap ${overlapMs / 1000} s)`);
    const load = await drive(stack, logicalCheckouts(n, 'recon'), { concurrency: 8, log });
    if ((await stack.waitUntilSettled(120_000)) < 0) failures.push('checkouts still running 120 s after the load');

    const injectedKey = `drill-injected-${crypto.randomUUID()}`;
    const injected = await injectCharge(stack, injectedKey, 4_242);
    const injectedAtMs = injected.created * 1000;
    log(`injected charge ${injected.id} (4242 cents, key ${injectedKey}) at the provider, no ledger posting`);

    log(`waiting for ${runsAfterInjection} finished runs whose window holds it ...`);
    const covering = await waitForRuns(stack, runsAfterInjection, (r) => r.window_since.getTime() <= injectedAtMs && r.window_until.getTime() >= injectedAtMs + 1_000);
    const findings = await allFindings(stack);
    const ofInjected = findings.filter((f) => f.provider_charge_id === injected.id);
    if (ofInjected.length !== 1 || ofInjected[0]?.kind !== 'charge_without_posting') {
      failures.push(`the injected charge was reported ${ofInjected.length} times (${ofInjected.map((f) => f.kind).join(', ')}), expected once as charge_without_posting`);
    }
    const others = findings.filter((f) => f.provider_charge_id !== injected.id);
    if (others.length > 0) failures.push(`${others.length} findings for checkouts that were recorded: ${others.slice(0, 3).map((f) => `${f.kind} ${f.provider_charge_id}`).join(', ')}`);

    // the api shows it, once, across every run it lists
    // an operator route: an admin key, not the merchant's
    const adminKey = await stack.adminApiKey();
    const listed = (await (await fetch(`${stack.apiUrl}/reconciliation/runs?limit=100`, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as {
      data: Array<{ run_id: string; mismatches: Array<{ provider_charge_id: string; kind: string }> }>;
    };
    const listedTimes = listed.data.flatMap((r) => r.mismatches).filter((m) => m.provider_charge_id === injected.id).length;
    if (listedTimes !== 1) failures.push(`GET /reconciliation/runs lists the injected charge ${listedTimes} times, expected 1`);

    // the invariant checker sees the injected charge, and only it
    const before = await checkInvariants({ pool: stack.pool, stubUrl: stack.stubUrl, client: stack.client });
    const c = before.counts;
    const excess = c.chargesApplied - c.chargesRefunded - c.completedPayments;
    const expectedDiscrepancy = !before.ok && before.violations.length === 1 && before.violations[0]?.startsWith('counts disagree') && excess === 1;
    if (!expectedDiscrepancy) failures.push(`invariants before settling the injected charge: expected exactly its discrepancy, got ${before.violations.join('; ') || 'none'}`);
    log(`invariant checker before settling: ${before.violations.join('; ')}`);

    // settle it as an operator would: refund the charge nobody recorded
    await refundCharge(stack, injected.id, `${injectedKey}:refund`);
    const refundedAt = Date.now();
    log('refunded the injected charge at the provider; waiting for a run after the refund ...');
    await waitForRuns(stack, 1, (r) => r.started_at.getTime() > refundedAt);

    // stop the Schedule and compare its ticks with the runs recorded
    const handle = stack.client.schedule.getHandle(SCHEDULE_ID);
    await handle.pause('drill: counting runs against ticks');
    const described = await waitUntil(async () => {
      const d = await handle.describe();
      const unfinished = await stack.pool.query('SELECT 1 FROM reconciliation_runs WHERE finished_at IS NULL');
      return d.info.runningActions.length === 0 && unfinished.rowCount === 0 ? d : undefined;
    }, 60_000);
    const runs = (await stack.pool.query<{ run_id: string }>('SELECT run_id FROM reconciliation_runs WHERE schedule_id = $1', [SCHEDULE_ID])).rows;
    const distinctRuns = new Set(runs.map((r) => r.run_id)).size;
    const ticks = described.info.numActionsTaken;
    if (runs.length !== ticks || distinctRuns !== ticks) failures.push(`${ticks} ticks but ${runs.length} runs (${distinctRuns} distinct)`);

    const findingsAfter = (await allFindings(stack)).filter((f) => f.provider_charge_id === injected.id).length;
    if (findingsAfter !== 1) failures.push(`after the refund the injected charge has ${findingsAfter} findings, expected still 1`);

    return {
      rows: [
        ['logical checkouts', n],
        ['outcomes', JSON.stringify(tally(load.results))],
        ['workers polling', stack.workers.length],
        ['schedule ticks (actions taken)', ticks],
        ['reconciliation runs recorded (distinct)', `${runs.length} (${distinctRuns})`],
        ['ticks skipped for overlap', described.info.numActionsSkippedOverlap],
        ['runs whose window held the injected charge', covering],
        ['times the injected charge was reported', ofInjected.length],
        ['findings for recorded checkouts', others.length],
        ['invariants before settling (expected: this one charge)', before.violations.join('; ')],
        ['settled by', 'refunding the injected charge at the provider'],
      ],
      failures,
    };
  },
};

async function injectCharge(stack: DrillStack, key: string, amountCents: number): Promise<{ id: string; created: number }> {
  const res = await fetch(`${stack.stubUrl}/charges`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ amount_cents: amountCents, currency: 'USD', payment_method_id: 'pm_card_visa' }),
    signal: AbortSignal.timeout(5_000),
  });
  if (res.status !== 200) throw new Error(`injecting a charge: the stub answered ${res.status}`);
  return (await res.json()) as { id: string; created: number };
}

async function refundCharge(stack: DrillStack, chargeId: string, key: string): Promise<void> {
  const res = await fetch(`${stack.stubUrl}/refunds`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ charge_id: chargeId }),
    signal: AbortSignal.timeout(5_000),
  });
  if (res.status !== 200) throw new Error(`refunding the injected charge: the stub answered ${res.status}`);
}

async function allFindings(stack: DrillStack): Promise<Array<{ kind: string; provider_charge_id: string }>> {
  return (await stack.pool.query<{ kind: string; provider_charge_id: string }>('SELECT kind, provider_charge_id FROM reconciliation_mismatches')).rows;
}

/** Waits until `count` finished runs match, and returns how many do. */
async function waitForRuns(stack: DrillStack, count: number, matches: (run: FinishedRun) => boolean): Promise<number> {
  return waitUntil(async () => {
    const runs = (
      await stack.pool.query<FinishedRun>(
        'SELECT run_id, scheduled_at, window_since, window_until, started_at FROM reconciliation_runs WHERE finished_at IS NOT NULL',
      )
    ).rows.filter(matches);
    return runs.length >= count ? runs.length : undefined;
  }, 180_000);
}

async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
