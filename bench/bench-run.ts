// One benchmark run on one stack: fresh durable checkouts (maximum sustained
// rate, latency at half of it and where that time goes), replays, the plain
// handler side by side, the engine's floor (a bare workflow of the checkout's
// shape, bench/engine-floor/, started eagerly from its worker's own process
// over HTTP as the api starts a checkout) on the same server, and the api's
// and worker's memory.
import type { LoadRequest, Sample } from './open-load';
import type { BenchStack } from './bench-stack';
import { freshCheckouts, replaysOf } from './checkout-requests';
import type { Durations } from './durations';
import { FLOOR_CHECKOUT_PATH, type FloorStarts } from './engine-floor/start';
import { startEngineFloorWorker } from './engine-floor/worker-process';
import { ENGINE_FLOOR_WORKFLOW } from './engine-floor/workflows';
import { breakDownLatency, type Breakdown } from './latency-breakdown';
import { latencyPerSecond } from './latency-stats';
import { cpuMeter, idleCpuPerSecond, perAnswer } from './process-cpu';
import { findMaxSustainedRate, runPhase, WARM_UP_RATE, type LoadTarget, type SearchResult, type StepFigures } from './rate-search';
import { growthPercent, RssSampler, type RssPoint } from './rss-sampler';

const PARTS = ['api', 'worker', 'temporal', 'postgres', 'payments-stub', 'plain', 'engine-floor'] as const;

export interface TargetFigures {
  search: SearchResult;
  /** the phase at half the maximum sustained rate */
  atHalf: StepFigures;
}

export interface BenchFigures {
  durable: TargetFigures;
  breakdown: Breakdown;
  replay: TargetFigures;
  plain: TargetFigures;
  /** the bare workflow of the checkout's shape, started eagerly from its worker's own process, over HTTP */
  floor: TargetFigures;
  /** the floor process's starts (warm-up included) and how many were eager: 0 eager means the server did not hand tasks back */
  floorStarts: FloorStarts;
  soak?: StepFigures;
  rss: {
    points: RssPoint[];
    endApiMiB?: number;
    endWorkerMiB?: number;
    apiGrowthPercent?: number;
    workerGrowthPercent?: number;
  };
  workerStartMs: number;
  /** CPU ms each part spent per answered request in the half-rate phases (durable, replay, plain), less its idle use */
  cpuMsPerCheckout: Record<string, Record<string, number>>;
  series: Record<string, { p50: Array<[number, number]>; p99: Array<[number, number]> }>;
}

export async function runBench(stack: BenchStack, d: Durations, soak: boolean, log: (line: string) => void): Promise<BenchFigures> {
  // the durable requests are kept by key so the replay phase can send them again
  const sent = new Map<string, LoadRequest>();
  const fresh = freshCheckouts('durable', stack.apiKey);
  const remembered = (i: number) => {
    const req = fresh(i);
    sent.set(req.key, req);
    return req;
  };
  const durableTarget: LoadTarget = { name: 'durable', origin: stack.apiUrl, request: remembered, expectedStatus: 201, drained: () => stack.drained() };
  const plainTarget: LoadTarget = { name: 'plain', origin: stack.plainUrl, request: freshCheckouts('plain', stack.apiKey), expectedStatus: 201 };
  const series: BenchFigures['series'] = {};

  log('warming up (JIT, connection pools, the worker cache) ...');
  await runPhase({ ...durableTarget, name: 'warm-up durable' }, WARM_UP_RATE, d.warmupMs, log);
  await runPhase({ ...plainTarget, name: 'warm-up plain' }, WARM_UP_RATE, d.warmupMs, log);
  await stack.drained();
  const rss = new RssSampler({ api: stack.pid('api'), worker: stack.pid('worker') });
  rss.start(5_000);

  const search = (target: LoadTarget, startRate: number, maxRate: number) =>
    findMaxSustainedRate(target, { startRate, maxRate, stepMs: d.stepMs, confirmMs: d.confirmMs, refine: d.refine, settleMs: d.settleMs, log });
  const cpu: BenchFigures['cpuMsPerCheckout'] = {};
  const atHalf = async (target: LoadTarget, maxRate: number): Promise<{ figures: StepFigures; samples: Sample[] }> => {
    log(`${target.name}: latency at half the maximum rate`);
    const pids = Object.fromEntries(PARTS.map((p) => [p, stack.pid(p)]));
    const idle = await idleCpuPerSecond(pids, 5_000);
    const meter = cpuMeter(pids);
    const { figures, result } = await runPhase(target, Math.max(1, Math.round(maxRate / 2)), d.latencyMs, log);
    cpu[target.name] = perAnswer(meter(), idle, d.latencyMs, figures.ok);
    series[target.name] = latencyPerSecond(result.samples);
    await target.drained?.();
    await new Promise((r) => setTimeout(r, d.settleMs));
    return { figures, samples: result.samples };
  };

  log('durable fresh checkouts: stepping the arrival rate');
  const durableSearch = await search(durableTarget, 20, 2_000);
  sent.clear();
  const durableHalf = await atHalf(durableTarget, durableSearch.maxRate);
  log('durable: where the time of one checkout goes (from workflow histories)');
  const breakdown = await breakDownLatency(stack.client, stack.merchantId, durableHalf.samples, 40);

  // replays of the checkouts answered at half rate: same key, same body
  const answered = durableHalf.samples.filter((s) => s.status === 201).flatMap((s) => sent.get(s.key) ?? []);
  const replayTarget: LoadTarget = { name: 'replay', origin: stack.apiUrl, request: replaysOf(answered), expectedStatus: 200 };
  log('replays: stepping the arrival rate');
  const replaySearch = await search(replayTarget, 250, 20_000);
  const replayHalf = await atHalf(replayTarget, replaySearch.maxRate);

  log('plain handler fresh checkouts: stepping the arrival rate');
  const plainSearch = await search(plainTarget, 20, 5_000);
  const plainHalf = await atHalf(plainTarget, plainSearch.maxRate);

  // Last, so the durable stack's phases ran without its process; the same dev
  // server, its settings and the checkout worker's tuning (worker-main.ts).
  log('engine floor: a bare workflow of the checkout\'s shape, no I/O, started eagerly from the worker\'s own process, over HTTP');
  const floor = await startEngineFloorWorker(stack, log);
  const floorRequests = freshCheckouts('floor', stack.apiKey);
  const floorTarget: LoadTarget = {
    name: 'engine-floor',
    origin: floor.origin,
    request: (i) => ({ ...floorRequests(i), path: FLOOR_CHECKOUT_PATH }),
    expectedStatus: 201,
    drained: () => stack.drained(120_000, ENGINE_FLOOR_WORKFLOW),
  };
  await runPhase({ ...floorTarget, name: 'warm-up engine-floor' }, WARM_UP_RATE, d.warmupMs, log);
  await stack.drained(120_000, ENGINE_FLOOR_WORKFLOW);
  log('engine floor: stepping the arrival rate');
  const floorSearch = await search(floorTarget, 20, 2_000);
  const floorHalf = await atHalf(floorTarget, floorSearch.maxRate);
  const floorStarts = await floor.starts();
  log(`engine floor: ${floorStarts.eager} of ${floorStarts.starts} starts eager`);

  let soakFigures: StepFigures | undefined;
  let soakStart: RssPoint | undefined;
  if (soak) {
    const rate = Math.max(1, Math.round(durableSearch.maxRate / 2));
    log(`soak: durable fresh checkouts at ${rate}/s for ${d.soakMs / 60_000} min, memory sampled every 5 s`);
    // growth is measured from one minute into the soak: the phases before it
    // leave the heaps at whatever size their last collection left
    const settled = new Promise<RssPoint>((resolve) => setTimeout(() => resolve(rss.sample()), Math.min(60_000, d.soakMs / 2)));
    soakFigures = (await runPhase({ ...durableTarget, name: 'soak' }, rate, d.soakMs, log)).figures;
    soakStart = await settled;
  }
  const end = rss.stop();
  const first = soakStart ?? rss.points[0];
  return {
    durable: { search: durableSearch, atHalf: durableHalf.figures },
    breakdown,
    replay: { search: replaySearch, atHalf: replayHalf.figures },
    plain: { search: plainSearch, atHalf: plainHalf.figures },
    floor: { search: floorSearch, atHalf: floorHalf.figures },
    floorStarts,
    soak: soakFigures,
    rss: {
      points: rss.points,
      endApiMiB: end.apiMiB,
      endWorkerMiB: end.workerMiB,
      apiGrowthPercent: growthPercent(first?.apiMiB, end.apiMiB),
      workerGrowthPercent: growthPercent(first?.workerMiB, end.workerMiB),
    },
    workerStartMs: stack.workerStartMs,
    cpuMsPerCheckout: cpu,
    series,
  };
}
