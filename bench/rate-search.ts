// Finds the highest arrival rate a target sustains: steps the rate up until a
// step fails, narrows between the last pass and the first failure, then holds
// the found rate for the confirmation period (60 s; shorter with --quick).
import { figuresOf, type PhaseFigures } from './latency-stats';
import { runOpenLoad, type CallResult, type LoadRequest, type OpenLoadResult } from './open-load';

/**
 * Sustained means: every answer is the expected one (no error, no 202, no
 * shed 503, no timeout) and p99 stays under this, a third of the api budget,
 * so the queue is not growing through the step.
 */
export const SUSTAINED_P99_MS = 1_000;

/**
 * Every target warms up at this rate, half the searches' first step, before
 * its search: at 5/s for 5 s the api's hosted worker was still cold when the
 * first step came (20/s failed at p50 527 ms, then held at 25/s).
 */
export const WARM_UP_RATE = 10;

export interface LoadTarget {
  name: string;
  origin: string;
  request: (i: number) => LoadRequest;
  /** sends a request itself instead of an HTTP POST (the engine floor: a workflow start from the bench process) */
  call?: (i: number) => Promise<CallResult>;
  expectedStatus: number;
  /** resolves once work the step left behind is done (e.g. checkouts answered 202 still running) */
  drained?: () => Promise<void>;
}

export interface StepFigures extends PhaseFigures {
  sustained: boolean;
  durationMs: number;
}

export interface SearchOptions {
  startRate: number;
  maxRate: number;
  stepMs: number;
  confirmMs: number;
  /** bisections between the last pass and the first failure */
  refine: number;
  /** pause between steps so one step's tail does not load the next */
  settleMs: number;
  log: (line: string) => void;
}

export interface SearchResult {
  maxRate: number;
  steps: StepFigures[];
  confirmation: StepFigures | undefined;
}

const REQUEST_TIMEOUT_MS = 10_000;

export async function runPhase(
  target: LoadTarget,
  rate: number,
  durationMs: number,
  log: (line: string) => void,
): Promise<{ figures: StepFigures; result: OpenLoadResult }> {
  const result = await runOpenLoad({
    origin: target.origin,
    ratePerSecond: rate,
    durationMs,
    request: target.request,
    call: target.call,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  const f = figuresOf(result, rate, target.expectedStatus);
  const sustained = f.errors === 0 && f.p99Ms <= SUSTAINED_P99_MS;
  const unexpected = Object.entries(f.unexpected)
    .slice(0, 3)
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
  log(
    `  ${target.name} ${rate}/s for ${durationMs / 1000} s: ${f.ok}/${f.sent} ok, ${f.achievedPerSecond}/s, p50 ${f.p50Ms} p99 ${f.p99Ms} ms` +
      `${f.sendLagP99Ms > 20 ? ` (generator late by ${f.sendLagP99Ms} ms p99)` : ''}${unexpected ? `; ${unexpected}` : ''} -> ${sustained ? 'sustained' : 'NOT sustained'}`,
  );
  return { figures: { ...f, sustained, durationMs }, result };
}

export async function findMaxSustainedRate(target: LoadTarget, options: SearchOptions): Promise<SearchResult> {
  const steps: StepFigures[] = [];
  const settle = async () => {
    await target.drained?.();
    await new Promise((r) => setTimeout(r, options.settleMs));
  };
  const step = async (rate: number, ms = options.stepMs) => {
    const { figures } = await runPhase(target, rate, ms, options.log);
    steps.push(figures);
    await settle();
    return figures.sustained;
  };

  let pass = 0;
  let fail = 0;
  for (let rate = options.startRate; rate <= options.maxRate; rate = Math.round(rate * 1.5)) {
    if (await step(rate)) pass = rate;
    else {
      fail = rate;
      break;
    }
  }
  // the start rate itself failed: halve down to 1/s before giving up
  for (let rate = Math.floor(options.startRate / 2); pass === 0 && rate >= 1; rate = Math.floor(rate / 2)) {
    if (await step(rate)) pass = rate;
    else fail = rate;
  }
  if (pass === 0) return { maxRate: 0, steps, confirmation: undefined };
  for (let i = 0; i < options.refine && fail > 0 && fail - pass > Math.max(2, pass * 0.05); i += 1) {
    const mid = Math.round((pass + fail) / 2);
    if (await step(mid)) pass = mid;
    else fail = mid;
  }
  // hold it: a rate that passes a short step may still fill a queue over a minute
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const { figures } = await runPhase(target, pass, options.confirmMs, options.log);
    await settle();
    if (figures.sustained) return { maxRate: pass, steps, confirmation: figures };
    pass = Math.max(1, Math.round(pass * 0.85));
  }
  return { maxRate: pass, steps, confirmation: undefined };
}
