// docs/design.md, "Failure scenarios and drills", scenario 8: the retry-storm incident scaled to this machine. A steady stream
// of new checkouts at about the rate 2 cores sustain, and 30 % of provider calls
// failing for 8 s in the middle. Run twice on fresh stacks with the same arrival
// schedule: the naive checkout (a handler calling the provider with 3 immediate
// retries, no jitter, no budget; drills/naive-client.ts), then ours (our client,
// the api, the workflow, jittered activity retries under the fleet retry budget
// and breaker). What the provider sees, each side's latency and the time back
// to a clean state are compared side by side, as a CSV and an SVG chart.
// DRILL_STORM_RATE overrides the arrival rate (new checkouts per second).
import fs from 'node:fs';
import path from 'node:path';
import { CheckoutError, createCheckoutClient } from '../../client/checkout-client';
import { lineChartSvg } from '../chart';
import type { Drill, DrillContext } from '../drill';
import type { DrillStack } from '../drill-stack';
import { checkInvariants, type InvariantReport } from '../invariants';
import { drive, logicalCheckouts, percentile } from '../load';
import { createNaiveCharger } from '../naive-client';
import { attemptsPerSecond, sampleProvider } from '../provider-rate';

// Measured on the 2-core reference machine with a healthy provider: 8/s answers
// p99 in 1.2 s, 10/s in 2.7 s (the edge of the 3 s api budget), 12/s builds a
// backlog. 8/s is the highest rate with room to spare for the retries.
const RATE = Number(process.env.DRILL_STORM_RATE ?? 8);
const WARM_UP = 20; // checkouts before the measured load, so both runs start on a warm stack
const RESULTS_DIR = path.resolve(__dirname, '..', '..', 'drill-results');
// the naive handler's per-call timeout: the same as our charge activity's
const NAIVE_REQUEST_TIMEOUT_MS = 2_000;

interface Plan {
  durationS: number;
  windowFromS: number;
  windowToS: number;
}

interface Run {
  n: number;
  posts: number;
  polls: number;
  providerAttempts: number;
  /** Provider attempts inside the failure window, each failing with probability 0.3. */
  windowAttempts: number;
  faultsInjected: number;
  latenciesMs: number[];
  outcomes: Record<string, number>;
  /** From the end of the failure window until the last checkout was terminal and its workflow closed. */
  cleanS: number;
  /** Payments left pending without a workflow: answered 503 before the start, never retried. */
  orphans: string[];
  series: Array<[number, number]>;
  /** ours only: the naive handler writes no ledger and keeps no payments table */
  invariants?: InvariantReport;
}

async function runOnce(kind: 'naive' | 'ours', ctx: DrillContext, plan: Plan): Promise<{ run: Run; stack: DrillStack }> {
  const { log } = ctx;
  const stack = await ctx.startStack();
  const naive = createNaiveCharger({ providerUrl: stack.stubUrl, requestTimeoutMs: NAIVE_REQUEST_TIMEOUT_MS, connectTimeoutMs: 500 });
  const warmUp = logicalCheckouts(WARM_UP, `warmup-${kind}`);
  if (kind === 'naive') for (const item of warmUp) await naive.checkout(item.request, item.key);
  else await drive(stack, warmUp, { concurrency: 4, log });
  const baseline = (await stack.stubStats()).attempts;
  const n = Math.round(RATE * plan.durationS);
  const items = logicalCheckouts(n, `storm-${kind}`);
  const ours = createCheckoutClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey, totalTimeoutMs: 180_000 });
  const outcomes: Record<string, number> = {};
  const latenciesMs: number[] = [];
  let posts = 0;
  let polls = 0;
  let lastAnswerAt = 0; // wall clock of the last final answer
  const count = (outcome: string) => (outcomes[outcome] = (outcomes[outcome] ?? 0) + 1);

  const one = async (item: (typeof items)[number]) => {
    const t = performance.now();
    if (kind === 'naive') {
      const r = await naive.checkout(item.request, item.key);
      count(r.outcome);
      latenciesMs.push(performance.now() - t);
      lastAnswerAt = Date.now();
      return;
    }
    try {
      const r = await ours.checkout(item.request, { idempotencyKey: item.key });
      posts += r.attempts;
      polls += r.polls;
      count(r.status);
      latenciesMs.push(performance.now() - t);
    } catch (err) {
      if (!(err instanceof CheckoutError)) throw err;
      posts += err.attempts;
      polls += err.polls;
      count(`gave up: ${err.lastStatus}`);
    }
  };

  log(`${kind}: ${RATE} new checkouts/s for ${plan.durationS} s, 30 % provider errors from ${plan.windowFromS} s to ${plan.windowToS} s`);
  const sampler = sampleProvider(stack.stubUrl);
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;
  const inFlight: Array<Promise<void>> = [];
  let windowEndedAt = 0; // wall clock, compared with Postgres and Temporal times on this host
  let phase: 'before' | 'failing' | 'after' = 'before';
  let sent = 0;
  let lastLog = 0;
  while (sent < n) {
    if (phase === 'before' && elapsedS() >= plan.windowFromS) {
      await stack.setFaults({ mode: 'error', fail_rate: 0.3 });
      phase = 'failing';
      log(`  ${elapsedS().toFixed(1)} s: provider failing 30 % of calls`);
    } else if (phase === 'failing' && elapsedS() >= plan.windowToS) {
      await stack.setFaults({ mode: 'ok', fail_rate: null });
      windowEndedAt = Date.now();
      phase = 'after';
      log(`  ${elapsedS().toFixed(1)} s: provider healthy again`);
    }
    const due = Math.min(n, Math.floor(elapsedS() * RATE));
    while (sent < due) inFlight.push(one(items[sent++] as (typeof items)[number]));
    if (elapsedS() - lastLog >= 5) {
      lastLog = elapsedS();
      log(`  ${lastLog.toFixed(0)} s: ${sent} sent, provider attempts ${sampler.samples.at(-1)?.attempts ?? 0}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  if (phase !== 'after') {
    await stack.setFaults({ mode: 'ok', fail_rate: null });
    windowEndedAt = Date.now();
  }
  log(`  arrivals done at ${elapsedS().toFixed(1)} s; waiting for every client's final answer`);
  await Promise.all(inFlight);
  if (kind === 'naive') {
    // nothing durable runs on after the last answer: clean when the last call returned
    const samples = await sampler.stop();
    const rates = attemptsPerSecond(samples);
    const naiveStats = await stack.stubStats();
    return {
      stack,
      run: {
        n,
        posts: 0,
        polls: 0,
        providerAttempts: naiveStats.attempts - baseline,
        windowAttempts: attemptsAt(samples, plan.windowToS) - attemptsAt(samples, plan.windowFromS),
        faultsInjected: naiveStats.faults_injected,
        latenciesMs,
        outcomes,
        cleanS: (lastAnswerAt - windowEndedAt) / 1000,
        orphans: [],
        series: samples.map((s, i) => [s.t, rates[i] as number]),
      },
    };
  }
  log(`  clients done at ${elapsedS().toFixed(1)} s; waiting for the stack to settle`);
  const orphans = await orphanedPayments(stack);
  // orphans stay pending for ever: then wait only for the running workflows
  const settledMs =
    orphans.length > 0 ? await untilNoneRunning(stack, 90_000) : await stack.waitUntilSettled(90_000, (o, p) => log(`  ... ${o} open, ${p} pending`));
  const samples = await sampler.stop();
  const stats = await stack.stubStats();

  // the moment the last checkout ended, from the parts' own records
  const lastPayment =
    (await stack.pool.query<{ at: Date | null }>(`SELECT max(updated_at) AS at FROM payments WHERE status <> 'pending'`)).rows[0]?.at?.getTime() ?? 0;
  let lastClose = 0;
  let open = 0;
  for await (const wf of stack.client.workflow.list({ query: 'WorkflowType = "checkout"' })) {
    if (wf.closeTime) lastClose = Math.max(lastClose, wf.closeTime.getTime());
    else open += 1;
  }
  const rates = attemptsPerSecond(samples);
  const invariants = await checkInvariants({ pool: stack.pool, stubUrl: stack.stubUrl, client: stack.client });
  return {
    stack,
    run: {
      n,
      posts,
      polls,
      providerAttempts: stats.attempts - baseline,
      windowAttempts: attemptsAt(samples, plan.windowToS) - attemptsAt(samples, plan.windowFromS),
      faultsInjected: stats.faults_injected,
      latenciesMs,
      outcomes,
      cleanS: settledMs < 0 || open > 0 ? NaN : (Math.max(lastPayment, lastClose) - windowEndedAt) / 1000,
      orphans,
      series: samples.map((s, i) => [s.t, rates[i] as number]),
      invariants,
    },
  };
}

/**
 * Pending payments with no workflow: the api reserved the row, could not start
 * the workflow in time and answered 503, and the client never came back with
 * the key (a retry with it would resume the checkout).
 */
async function orphanedPayments(stack: DrillStack): Promise<string[]> {
  const pending = await stack.pool.query<{ workflow_id: string }>(`SELECT workflow_id FROM payments WHERE status = 'pending'`);
  const orphans: string[] = [];
  for (const { workflow_id } of pending.rows) {
    const exists = await stack.client.workflow.getHandle(workflow_id).describe().then(() => true, () => false);
    if (!exists) orphans.push(workflow_id);
  }
  return orphans;
}

/** The stub's attempt counter at the last sample taken by t seconds. */
function attemptsAt(samples: Array<{ t: number; attempts: number }>, t: number): number {
  return samples.filter((s) => s.t <= t).at(-1)?.attempts ?? 0;
}

async function untilNoneRunning(stack: DrillStack, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while ((await stack.client.workflow.count('ExecutionStatus = "Running" AND WorkflowType = "checkout"')).count > 0) {
    if (Date.now() - started > timeoutMs) return -1;
    await new Promise((r) => setTimeout(r, 500));
  }
  return Date.now() - started;
}

export const retryStorm: Drill = {
  name: 'retry-storm',
  summary: '30 % provider errors for 8 s at high load: a naive handler (3 immediate retries) vs ours, side by side',
  fullDuration: 'about 2.5 min',
  async run(ctx) {
    const plan: Plan = ctx.short ? { durationS: 20, windowFromS: 6, windowToS: 14 } : { durationS: 60, windowFromS: 26, windowToS: 34 };
    const first = await runOnce('naive', ctx, plan);
    const naive = first.run;
    await first.stack.stop(); // free the cores for the second run
    const ours = (await runOnce('ours', ctx, plan)).run;

    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const csvPath = path.join(RESULTS_DIR, `retry-storm-${stamp}.csv`);
    const svgPath = path.join(RESULTS_DIR, `retry-storm-${stamp}.svg`);
    // one row per 250 ms step, each run's sample at that step (empty when it had none)
    const bySlot = (r: Run) => new Map(r.series.map(([t, y]) => [Math.round(t * 4), y.toFixed(2)]));
    const [a, b] = [bySlot(naive), bySlot(ours)];
    const lines = ['t_seconds,naive_attempts_per_s,ours_attempts_per_s'];
    for (let slot = 0; slot <= Math.max(0, ...a.keys(), ...b.keys()); slot += 1) {
      lines.push(`${(slot / 4).toFixed(2)},${a.get(slot) ?? ''},${b.get(slot) ?? ''}`);
    }
    fs.writeFileSync(csvPath, `${lines.join('\n')}\n`);
    fs.writeFileSync(
      svgPath,
      lineChartSvg({
        title: `Provider attempts per second: ${RATE} checkouts/s, 30 % provider errors for ${plan.windowToS - plan.windowFromS} s`,
        xLabel: 'seconds since the first checkout',
        yLabel: 'provider attempts per second (trailing 1 s)',
        series: [
          { name: 'naive handler: 3 immediate retries', color: '#d62728', points: naive.series },
          { name: 'ours: jittered retries, retry budget, breaker', color: '#1f77b4', points: ours.series },
        ],
        shade: { from: plan.windowFromS, to: plan.windowToS, label: '30 % provider errors' },
      }),
    );
    ctx.log(`time series: ${csvPath}`);
    ctx.log(`chart: ${svgPath}`);

    const amp = (r: Run) => r.providerAttempts / r.n;
    const peak = (r: Run) => Math.max(0, ...r.series.map(([, y]) => y));
    const latency = (r: Run) => `${percentile(r.latenciesMs, 50).toFixed(0)} / ${percentile(r.latenciesMs, 99).toFixed(0)} ms`;
    const afterArrivals = plan.durationS - plan.windowToS;
    const clean = (r: Run) =>
      (Number.isNaN(r.cleanS) ? 'not settled' : `${r.cleanS.toFixed(1)} s (${(r.cleanS - afterArrivals).toFixed(1)} s after the last arrival)`) +
      (r.orphans.length > 0 ? ` (+${r.orphans.length} payments left pending, no workflow)` : '');
    const side = (f: (r: Run) => string | number) => `naive ${f(naive)}  |  ours ${f(ours)}`;

    const failures: string[] = [];
    for (const [name, r] of [['naive', naive], ['ours', ours]] as const) {
      if (Number.isNaN(r.cleanS)) failures.push(`${name} run: checkouts still running 90 s after the last client finished`);
      if (r.orphans.length > 0) {
        failures.push(
          `${name} run: ${r.orphans.length} payments left pending without a workflow (answered 503 before the workflow started, ` +
            `and the client gave up), e.g. ${r.orphans.slice(0, 3).join(', ')}`,
        );
      }
    }
    // Every attempt ends in a charge or an injected fault, so amplification = 1 + faults / n, and the
    // faults are a 30 % coin over the attempts in the window: two standard deviations of that
    // difference is the noise two honest runs can show; beyond it, ours is worse.
    const margin = (2 * Math.sqrt(0.3 * 0.7 * (naive.windowAttempts + ours.windowAttempts))) / naive.n;
    if (amp(ours) > amp(naive) + margin) {
      failures.push(`our amplification ${amp(ours).toFixed(3)} is worse than the naive run's ${amp(naive).toFixed(3)} beyond the noise (${margin.toFixed(3)})`);
    }
    return {
      rows: [
        ['load', `after ${WARM_UP} warm-up checkouts, ${RATE} new checkouts/s for ${plan.durationS} s; 30 % provider errors from ${plan.windowFromS} s to ${plan.windowToS} s`],
        ['logical checkouts', side((r) => r.n)],
        ['api POST /checkout (per checkout)', side((r) => `${r.posts} (${(r.posts / r.n).toFixed(2)})`)],
        ['api GET of a 202 Location (per checkout)', side((r) => `${r.polls} (${(r.polls / r.n).toFixed(2)})`)],
        ['provider attempts (amplification)', side((r) => `${r.providerAttempts} (${amp(r).toFixed(3)})`)],
        ['provider faults injected (attempts in the window)', side((r) => `${r.faultsInjected} (${r.windowAttempts})`)],
        ['amplification, ours - naive', `${(amp(ours) - amp(naive)).toFixed(3)} (noise: ±${margin.toFixed(3)})`],
        ['peak provider attempts/s', side((r) => peak(r).toFixed(1))],
        ['client p50 / p99 to a final answer', side(latency)],
        ['client outcomes', side((r) => JSON.stringify(r.outcomes))],
        ['back to clean after the window ended', side(clean)],
        ['invariants', 'ours: the last line; naive: none to check (no ledger, no payments table)'],
        ['time series (CSV)', csvPath],
        ['chart (SVG)', svgPath],
      ],
      failures,
    };
  },
};
