// `npm run bench -- --topology cluster [--quick]`: npm run start:cluster's shape
// (Temporal's server on Postgres, two apis behind the round-robin front) with
// one and then with two worker processes. For each: the highest rate of fresh
// checkouts it sustains (rate-search.ts), then a phase at that rate in which
// the CPU every part uses is metered, so the figures say where the CPU goes.
//
// By default the apis start checkouts eagerly, as deployed: their hosted
// workers run the happy path and the worker processes hold retries, timers
// and webhooks. --no-eager starts them through the task queue, so the worker
// processes carry every checkout (docs/performance.md says what that shows).
import { ClusterStack } from '../stack/cluster-stack';
import { THROWAWAY_ENV } from '../stack/env';
import { freshCheckouts } from './checkout-requests';
import type { Durations } from './durations';
import { cpuMeter, idleCpuPerSecond, perAnswer } from './process-cpu';
import { findMaxSustainedRate, runPhase, WARM_UP_RATE, type LoadTarget, type StepFigures } from './rate-search';

export interface ClusterFigures {
  workers: number;
  eagerStart: boolean;
  maxRate: number;
  confirmed: boolean;
  atMax: StepFigures;
  /** CPU ms per answered checkout at the maximum rate, less idle use, by part */
  cpuMsPerCheckout: Record<string, number>;
  /** share of the machine's CPU each part used in that phase (2 cores = 200 %) */
  cpuPercent: Record<string, number>;
}

const NO_LIMITS = {
  RATE_LIMIT_PER_MINUTE: '100000000',
  KEY_RATE_LIMIT_PER_MINUTE: '100000000',
  MAX_IN_FLIGHT_CHECKOUTS: '100000',
};

export async function runClusterBench(workerCounts: number[], d: Durations, log: (line: string) => void, eagerStart = true): Promise<ClusterFigures[]> {
  const figures: ClusterFigures[] = [];
  for (const workers of workerCounts) {
    log(`cluster with ${workers} worker process(es), eager start ${eagerStart ? 'on' : 'off'}: starting (Temporal server on Postgres, two apis, the front)`);
    const cluster = await ClusterStack.start({
      workers,
      env: { ...THROWAWAY_ENV, ...NO_LIMITS, API_EAGER_START: eagerStart ? '1' : '0' },
      tmpPrefix: 'checkout-bench-cluster-',
      progress: (line) => log(`  ${line}`),
    });
    try {
      figures.push(await measure(cluster, workers, eagerStart, d, log));
    } catch (err) {
      log(`the run failed; the last output of each process:\n${cluster.local.tails()}`);
      throw err;
    } finally {
      await cluster.stop();
    }
  }
  return figures;
}

async function measure(cluster: ClusterStack, workers: number, eagerStart: boolean, d: Durations, log: (line: string) => void): Promise<ClusterFigures> {
  const apiKey = cluster.local.apiKey;
  if (!apiKey) throw new Error('the cluster made no development key');
  const target: LoadTarget = {
    name: `cluster, ${workers} worker(s)${eagerStart ? '' : ', no eager start'}`,
    origin: cluster.frontUrl,
    request: freshCheckouts(`cluster${workers}`, apiKey),
    expectedStatus: 201,
  };
  log('warming up ...');
  await runPhase({ ...target, name: 'warm-up' }, WARM_UP_RATE, d.warmupMs, log);
  log('stepping the arrival rate');
  const search = await findMaxSustainedRate(target, { startRate: 20, maxRate: 2_000, stepMs: d.stepMs, confirmMs: d.confirmMs, refine: d.refine, settleMs: d.settleMs, log });

  const pids: Record<string, number | undefined> = {
    'temporal server': cluster.local.temporal?.process.pid,
    postgres: cluster.local.postgres?.service.child.pid,
    stub: cluster.local.stub?.service.child.pid,
  };
  cluster.local.workers.forEach((w, i) => (pids[`worker ${i + 1}`] = w.service.child.pid));
  cluster.apis.forEach((a, i) => (pids[`api ${i + 1}`] = a.service.child.pid));
  log(`CPU by part at ${search.maxRate}/s for ${d.latencyMs / 1000} s`);
  const idle = await idleCpuPerSecond(pids, 5_000);
  const meter = cpuMeter(pids);
  // this process: the load generator and the round-robin front (its own CPU only, not its children's)
  const benchBefore = process.cpuUsage();
  const { figures } = await runPhase(target, Math.max(1, search.maxRate), d.latencyMs, log);
  const used = meter();
  const bench = process.cpuUsage(benchBefore);
  used['bench + front'] = (bench.user + bench.system) / 1_000;
  const cpuMsPerCheckout = perAnswer(used, idle, d.latencyMs, figures.ok);
  const cpuPercent = Object.fromEntries(Object.entries(used).map(([part, ms]) => [part, Math.round((ms / d.latencyMs) * 1_000) / 10]));
  return { workers, eagerStart, maxRate: search.maxRate, confirmed: search.confirmation !== undefined, atMax: figures, cpuMsPerCheckout, cpuPercent };
}
