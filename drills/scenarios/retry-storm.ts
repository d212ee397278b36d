// docs/design.md, "Failure scenarios and drills", scenario 8, and docs/resilience.md: the retry-storm
// incident at its proportions, scaled to this machine. The provider has a
// capacity (the stub's capacity model: CAPACITY_RPS served well, a queue of
// QUEUE_S seconds of work, shed beyond it); checkouts arrive at 40 % of it; for
// a window 30 % of provider calls hang (a hiccup: each holds a provider thread
// until the window ends). Run side by side on fresh stacks with the same
// arrivals: naive (3 immediate retries per checkout, 2 s timeout, nothing else;
// drills/naive-client.ts) and ours (the bundled client, the api, the workflow's
// jittered retries under the fleet retry budget and the shared breaker).
// Each run goes on at base load after the window, so it shows whether the
// provider comes back or the retries keep it saturated. Fails when ours does not
// recover within the run or the naive one does (no storm: a broken capacity
// model must not pass), and on any double charge.
// DRILL_STORM_CAPACITY overrides the provider's capacity (calls per second).
import fs from 'node:fs';
import path from 'node:path';
import { CheckoutError, createCheckoutClient } from '../../client/checkout-client';
import { lineChartSvg, stackedSvg, type ChartShade } from '../chart';
import type { Drill, DrillContext } from '../drill';
import { checkInvariants, formatCounts, type InvariantReport } from '../invariants';
import { drive, logicalCheckouts, percentile } from '../load';
import { createNaiveCharger } from '../naive-client';
import { sampleProvider, type ProviderSample } from '../provider-rate';
import { recoverySeconds, spansWhere, stormSeries, type StormPoint } from '../storm-series';
import { svgToPng } from '../svg-to-png';

const CAPACITY_RPS = Number(process.env.DRILL_STORM_CAPACITY ?? 15);
const BASE_RATE = 0.4 * CAPACITY_RPS; // the incident's 2,000 rps against 5,000
const CONCURRENCY = 3; // provider threads: each call holds one for 3 / 15 s = 200 ms
const QUEUE_S = 4; // seconds of work the provider queues before it sheds: longer than either side's 2 s call timeout
const FAIL_RATE = 0.3;
const CALL_TIMEOUT_MS = 2_000; // the naive call's timeout: the same as our charge activity's
// recovered: at most 5 % of calls fail and at least half the base load is served, held to the end of the run
const HEALTHY = { maxErrorRatio: 0.05, minOkRate: BASE_RATE / 2, holdS: 5 };
const RECOVERY_BOUND_S = 300; // the incident's requirement: back within 5 minutes
const RESULTS_DIR = path.resolve(__dirname, '..', '..', 'drill-results');

interface Plan {
  beforeS: number;
  windowS: number;
  afterS: number;
  /** the stack's environment beyond the defaults (the short run opens the breaker for less) */
  env: Record<string, string>;
}

type Kind = 'naive' | 'ours';

interface Run {
  kind: Kind;
  plan: Plan;
  n: number;
  providerAttempts: number;
  posts: number;
  latenciesMs: number[];
  outcomes: Record<string, number>;
  points: StormPoint[];
  breakerOpen: Array<[number, number]>;
  /** seconds from the end of the window to healthy for good; null: not within the run */
  recoveryS: number | null;
  charges: number;
  paymentsCharged: number;
  doubleCharged: number;
  /** naive: charged although the customer was told it failed */
  chargedButFailed: number;
  /** ours: every payment resolved and the stack settled */
  settled?: boolean;
  invariants?: InvariantReport;
}

interface StubCharge {
  idempotency_key: string;
}

async function runOnce(kind: Kind, ctx: DrillContext, plan: Plan, last: boolean): Promise<Run> {
  const { log } = ctx;
  const stack = await ctx.startStack({ env: plan.env });
  const naive = createNaiveCharger({ providerUrl: stack.stubUrl, requestTimeoutMs: CALL_TIMEOUT_MS, connectTimeoutMs: 500 });
  const warmUp = logicalCheckouts(20, `warmup-${kind}`);
  if (kind === 'naive') for (const item of warmUp) await naive.checkout(item.request, item.key);
  else await drive(stack, warmUp, { concurrency: 4, log });
  await stack.setFaults({
    capacity: { charges: { capacity_rps: CAPACITY_RPS, concurrency: CONCURRENCY, queue_limit: Math.round(QUEUE_S * CAPACITY_RPS) } },
  });
  const baseline = await stack.stubStats();
  const durationS = plan.beforeS + plan.windowS + plan.afterS;
  const n = Math.round(BASE_RATE * durationS);
  const items = logicalCheckouts(n, `storm-${kind}`);
  const ours = createCheckoutClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey, totalTimeoutMs: 300_000 });
  const outcomes: Record<string, number> = {};
  const outcomeOf = new Map<string, string>();
  const latenciesMs: number[] = [];
  let posts = 0;
  const count = (key: string, outcome: string) => {
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    outcomeOf.set(key, outcome);
  };

  const one = async (item: (typeof items)[number]) => {
    const t = performance.now();
    if (kind === 'naive') {
      count(item.key, (await naive.checkout(item.request, item.key)).outcome);
    } else {
      try {
        const r = await ours.checkout(item.request, { idempotencyKey: item.key });
        posts += r.attempts;
        count(item.key, r.status);
      } catch (err) {
        if (!(err instanceof CheckoutError)) throw err;
        posts += err.attempts;
        count(item.key, `gave up: ${err.lastStatus}`);
      }
    }
    latenciesMs.push(performance.now() - t);
  };

  log(
    `${kind}: ${BASE_RATE} checkouts/s for ${durationS} s against a provider of ${CAPACITY_RPS} calls/s; ` +
      `${FAIL_RATE * 100} % of calls hang from ${plan.beforeS} s to ${plan.beforeS + plan.windowS} s`,
  );
  const sampler = sampleProvider<string>(stack.stubUrl, {
    extra: async () => (kind === 'naive' ? 'none' : stack.providerBreakerState()),
  });
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;
  const inFlight: Array<Promise<void>> = [];
  let phase: 'before' | 'failing' | 'after' = 'before';
  let sent = 0;
  let lastLog = 0;
  while (sent < n) {
    if (phase === 'before' && elapsedS() >= plan.beforeS) {
      await stack.setFaults({ mode: 'hang', fail_rate: FAIL_RATE });
      phase = 'failing';
      log(`  ${elapsedS().toFixed(1)} s: ${FAIL_RATE * 100} % of provider calls hang`);
    } else if (phase === 'failing' && elapsedS() >= plan.beforeS + plan.windowS) {
      await stack.setFaults({ mode: 'ok', fail_rate: null });
      phase = 'after';
      log(`  ${elapsedS().toFixed(1)} s: the hiccup is over`);
    }
    const due = Math.min(n, Math.floor(elapsedS() * BASE_RATE));
    while (sent < due) inFlight.push(one(items[sent++] as (typeof items)[number]));
    if (elapsedS() - lastLog >= 5) {
      lastLog = elapsedS();
      const p = stormSeries(sampler.samples.slice(-5)).at(-1);
      log(
        `  ${lastLog.toFixed(0)} s: ${sent} sent; provider ${p?.offered.toFixed(1) ?? '?'} calls/s offered, ${p?.ok.toFixed(1) ?? '?'} ok, ` +
          `${p?.errors.toFixed(1) ?? '?'} failing, queue ${p?.queue ?? '?'}; breaker ${sampler.samples.at(-1)?.extra ?? '?'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  if (phase !== 'after') await stack.setFaults({ mode: 'ok', fail_rate: null });
  const arrivalsEndS = elapsedS();
  // the run is judged while the load is on: the samples end with the arrivals
  const samples = (await sampler.stop()).map((s) => ({ ...s, stats: minus(s.stats, baseline) }));
  log(`  arrivals done at ${arrivalsEndS.toFixed(1)} s; waiting for every client's final answer`);
  const ticker = setInterval(() => log(`  ... ${latenciesMs.length}/${n} customers answered`), 10_000);
  await Promise.all(inFlight).finally(() => clearInterval(ticker));
  // a queued call still being served after its caller left is settled before the charges are counted
  await stack.setFaults({ capacity: { charges: null } });

  let settled: boolean | undefined;
  let invariants: InvariantReport | undefined;
  if (kind === 'ours') {
    settled = (await stack.waitUntilSettled(120_000, (o, p) => log(`  ... ${o} open, ${p} pending`))) >= 0;
    invariants = await checkInvariants({ pool: stack.pool, stubUrl: stack.stubUrl, client: stack.client });
  }
  const stats = await stack.stubStats();
  const charged = ((await (await fetch(`${stack.stubUrl}/charges`)).json()) as { data: StubCharge[] }).data
    .map((c) => c.idempotency_key.replace(/:charge$/, ''))
    .filter((k) => k.includes('storm-'));
  const perPayment = new Map<string, number>();
  for (const key of charged) {
    // naive keys are `<checkout key>:charge`; ours `<workflow id>:charge`, the workflow id ending in `-<checkout key>`
    const payment = items.find((i) => key === i.key || key.endsWith(`-${i.key}`))?.key ?? key;
    perPayment.set(payment, (perPayment.get(payment) ?? 0) + 1);
  }
  if (!last) await stack.stop(); // free the cores for the next run; the runner checks the last stack's invariants again
  const points = stormSeries(samples);
  const windowEndS = plan.beforeS + plan.windowS;
  return {
    kind,
    plan,
    n,
    providerAttempts: stats.attempts - baseline.attempts,
    posts,
    latenciesMs,
    outcomes,
    points,
    breakerOpen: spansWhere(samples, (s) => s.extra !== 'closed' && s.extra !== 'none'),
    recoveryS: recoverySeconds(points, windowEndS, arrivalsEndS, HEALTHY),
    charges: charged.length,
    paymentsCharged: perPayment.size,
    doubleCharged: [...perPayment.values()].filter((c) => c > 1).length,
    chargedButFailed: kind === 'naive' ? [...perPayment.keys()].filter((k) => outcomeOf.get(k) !== 'completed').length : 0,
    settled,
    invariants,
  };
}

/** A sample's stats counted from the run's start, so warm-up calls are not in them. */
function minus(s: ProviderSample<string>['stats'], base: ProviderSample<string>['stats']): ProviderSample<string>['stats'] {
  const c = s.capacity.charges;
  const b = base.capacity.charges;
  return {
    ...s,
    attempts: s.attempts - base.attempts,
    faults_injected: s.faults_injected - base.faults_injected,
    capacity: {
      ...s.capacity,
      charges: { ...c, shed: c.shed - b.shed, served: c.served - b.served, abandoned: c.abandoned - b.abandoned, faulted: c.faulted - b.faulted },
    },
  };
}

function chartOf(run: Run, yMax: number): string {
  const windowFrom = run.plan.beforeS;
  const shades: ChartShade[] = run.breakerOpen.map(([from, to]) => ({ from, to, label: 'our breaker not closed', color: '#9ecae1' }));
  return lineChartSvg({
    title:
      `${run.kind === 'naive' ? 'Naive: 3 immediate retries, no backoff, no protections' : 'Ours: jittered retries, Retry-After, retry budget, shared breaker'}` +
      ` (${run.plan.windowS} s window)`,
    xLabel: 'seconds since the load started',
    yLabel: 'provider calls per second (trailing 1 s)',
    series: [
      { name: 'offered (calls reaching the provider)', color: '#7f7f7f', points: run.points.map((p) => [p.t, p.offered]) },
      { name: 'served to a waiting caller', color: '#2ca02c', points: run.points.map((p) => [p.t, p.ok]) },
      { name: 'failed (shed, hung, or served to nobody)', color: '#d62728', points: run.points.map((p) => [p.t, p.errors]) },
    ],
    shade: { from: windowFrom, to: windowFrom + run.plan.windowS, label: `${FAIL_RATE * 100} % of calls hang` },
    shades,
    hlines: [
      { y: CAPACITY_RPS, label: `provider capacity ${CAPACITY_RPS}/s`, color: '#444' },
      { y: BASE_RATE, label: `base load ${BASE_RATE}/s`, color: '#1f77b4' },
    ],
    yMax,
    height: 380,
  });
}

function recoveryText(r: Run, afterS: number): string {
  return r.recoveryS === null ? `not recovered: still failing at the end of the run, ${afterS} s after the window` : `${r.recoveryS.toFixed(1)} s`;
}

export const retryStorm: Drill = {
  name: 'retry-storm',
  summary: 'a provider at capacity, 30 % of calls hanging for a window: naive retries keep it down, ours let it recover',
  fullDuration: 'about 12 min',
  async run(ctx) {
    // short: the breaker opens for 10 s, not 30 s, so the run and the backlog after it stay short
    const plans: Plan[] = ctx.short
      ? [{ beforeS: 5, windowS: 8, afterS: 30, env: { BREAKER_OPEN_MS: '10000' } }]
      : [
          { beforeS: 15, windowS: 8, afterS: 120, env: {} },
          { beforeS: 15, windowS: 30, afterS: 120, env: {} },
        ];
    const runs: Run[] = [];
    for (const plan of plans) {
      for (const kind of ['naive', 'ours'] as const) runs.push(await runOnce(kind, ctx, plan, plan === plans.at(-1) && kind === 'ours'));
    }

    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const base = path.join(RESULTS_DIR, `retry-storm-${stamp}`);
    const csv = ['run,window_s,t_seconds,offered_per_s,ok_per_s,failed_per_s,queue'];
    for (const r of runs) for (const p of r.points) csv.push([r.kind, r.plan.windowS, p.t.toFixed(2), p.offered.toFixed(2), p.ok.toFixed(2), p.errors.toFixed(2), p.queue].join(','));
    fs.writeFileSync(`${base}.csv`, `${csv.join('\n')}\n`);
    const yMax = Math.max(CAPACITY_RPS * 2, ...runs.flatMap((r) => r.points.map((p) => p.offered)));
    fs.writeFileSync(`${base}.svg`, stackedSvg(runs.map((r) => chartOf(r, yMax))));
    await svgToPng(`${base}.svg`, `${base}.png`);
    ctx.log(`time series: ${base}.csv`);
    ctx.log(`chart: ${base}.svg and ${base}.png`);

    const failures: string[] = [];
    const rows: Array<[string, string | number]> = [
      [
        'provider',
        `capacity ${CAPACITY_RPS} calls/s (${CONCURRENCY} at once, 200 ms each), queue ${QUEUE_S} s of work, then shed with 503 + Retry-After: 1`,
      ],
      ['load', `${BASE_RATE} new checkouts/s (40 % of capacity) before, during and after the window; ${FAIL_RATE * 100} % of calls hang in it`],
      ['ours: settings beyond the defaults', JSON.stringify(plans[0]?.env ?? {})],
    ];
    for (const plan of plans) {
      const [naive, ours] = runs.filter((r) => r.plan === plan) as [Run, Run];
      const side = (f: (r: Run) => string | number) => `naive ${f(naive)}  |  ours ${f(ours)}`;
      const w = `${plan.windowS} s window:`;
      rows.push(
        [`${w} logical payments`, side((r) => r.n)],
        [`${w} provider calls per payment`, side((r) => (r.providerAttempts / r.n).toFixed(2))],
        [`${w} peak offered load`, side((r) => `${(Math.max(0, ...r.points.map((p) => p.offered)) / BASE_RATE).toFixed(1)}x base`)],
        [`${w} back to ~0 errors after the window`, side((r) => recoveryText(r, plan.afterS))],
        [`${w} customer p50 / p99 to a final answer`, side((r) => `${percentile(r.latenciesMs, 50).toFixed(0)} / ${percentile(r.latenciesMs, 99).toFixed(0)} ms`)],
        [`${w} customers' outcomes`, side((r) => JSON.stringify(r.outcomes))],
        [`${w} charges (payments charged, twice)`, side((r) => `${r.charges} (${r.paymentsCharged}, ${r.doubleCharged})`)],
        [`${w} naive: charged but told it failed`, naive.chargedButFailed],
        [`${w} ours: api POSTs per payment`, (ours.posts / ours.n).toFixed(2)],
        [`${w} ours: breaker not closed`, ours.breakerOpen.map(([a, b]) => `${a.toFixed(0)}-${b.toFixed(0)} s`).join(', ') || 'never'],
      );
      if (ours.recoveryS === null || ours.recoveryS > RECOVERY_BOUND_S) {
        failures.push(`${w} ours did not recover within the run (${plan.afterS} s after the window; the bound is ${RECOVERY_BOUND_S} s)`);
      }
      if (naive.recoveryS !== null) {
        failures.push(`${w} the naive run recovered after ${naive.recoveryS.toFixed(1)} s: no storm, so the capacity model or the drill is broken`);
      }
      for (const r of [naive, ours]) {
        if (r.doubleCharged > 0) failures.push(`${w} ${r.kind}: ${r.doubleCharged} payments charged more than once`);
      }
      if (ours.settled === false) failures.push(`${w} ours: checkouts still open or pending 120 s after the last customer's answer`);
      if (ours.invariants && !ours.invariants.ok) failures.push(`${w} ours: invariants broken: ${ours.invariants.violations.join('; ')}`);
      if (ours.invariants) rows.push([`${w} ours: invariants`, formatCounts(ours.invariants.counts)]);
    }
    rows.push(['time series (CSV)', `${base}.csv`], ['chart', `${base}.svg, ${base}.png`]);
    return { rows, failures };
  },
};
