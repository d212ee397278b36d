// `npm run bench [-- --quick|--soak] [--variant <name>]` measures durable
// checkouts against the plain handler and the engine's floor (a bare workflow
// of the checkout's shape, bench/engine-floor/, started eagerly over HTTP from
// its worker's own process, as the api starts a checkout) on this machine and ends with one line:
//   durable/plain ratio R (durable X/s, plain Y/s); durable/engine-floor F; fresh p50 P ms, p99 A ms; replay p99 B ms
// `npm run bench -- --compare baseline,<variant>[,...] [--quick] [--rate N]`
// measures settings before and after in one run (bench/variants.ts).
// `npm run bench -- --topology cluster [--quick] [--workers 1,2] [--no-eager]` measures the
// cluster with one and with two worker processes (bench/cluster-run.ts).
import os from 'node:os';
import { BenchStack } from './bench-stack';
import { runBench, type BenchFigures } from './bench-run';
import { runClusterBench } from './cluster-run';
import { runComparison } from './compare-run';
import { FULL, QUICK } from './durations';
import { table, writeResults } from './report';
import { startStackFor } from './stack-for-variant';
import { variantNamed, VARIANTS } from './variants';

const log = (line: string) => console.log(`[bench] ${line}`);

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function machine() {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100), node: process.version };
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--list')) {
    for (const v of VARIANTS) console.log(`${v.name.padEnd(18)} ${v.summary}`);
    return;
  }
  const quick = args.includes('--quick');
  const soak = args.includes('--soak');
  const durations = quick ? QUICK : FULL;
  const before = machine();
  log(`${quick ? 'quick' : 'full'}${soak ? ' + soak' : ''} run on ${before.cpus} cores (${before.cpuModel}), load average ${before.loadAverage.join(' ')}`);

  const topology = argValue(args, '--topology') ?? 'dev';
  if (topology !== 'dev' && topology !== 'cluster') throw new Error(`--topology takes dev or cluster, got ${topology}`);
  if (topology === 'cluster') {
    const counts = (argValue(args, '--workers') ?? '1,2').split(',').map(Number);
    if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 2)) throw new Error('--workers takes a list of 1 and 2, e.g. 1,2');
    const eager = !args.includes('--no-eager');
    const figures = await runClusterBench(counts, durations, log, eager);
    const parts = [...new Set(figures.flatMap((f) => Object.keys(f.cpuPercent)))];
    const where = eager ? 'started eagerly on the apis\' hosted workers' : 'started through the task queue, run on the worker processes';
    console.log(`\ncluster: fresh checkouts through the front over two apis, ${where} (${quick ? 'quick' : 'full'}; load average at start ${before.loadAverage.join(' ')})`);
    console.log(
      table(
        ['worker processes', 'max sustained /s', 'p50 ms', 'p99 ms', 'errors', 'CPU ms/checkout'],
        figures.map((f) => [
          f.workers,
          `${f.maxRate}${f.confirmed ? '' : ' (unconfirmed)'}`,
          f.atMax.p50Ms,
          f.atMax.p99Ms,
          f.atMax.errors,
          Math.round(Object.values(f.cpuMsPerCheckout).reduce((a, b) => a + b, 0) * 10) / 10,
        ]),
      ),
    );
    console.log('\nwhere the CPU goes at the maximum rate (% of one core; 2 cores = 200 %)');
    console.log(table(['worker processes', ...parts], figures.map((f) => [f.workers, ...parts.map((p) => f.cpuPercent[p] ?? 0)])));
    const files = writeResults(`cluster-${stamp()}`, { machine: before, machineAfter: machine(), quick, figures });
    log(`figures: ${files.join(', ')}`);
    return;
  }

  const compare = argValue(args, '--compare');
  if (compare) {
    const variants = compare.split(',').map(variantNamed);
    const rate = argValue(args, '--rate');
    // --latency-only: no maximum-rate search, only latency, CPU and RSS at --rate
    const latencyOnly = args.includes('--latency-only');
    if (latencyOnly && !rate) throw new Error('--latency-only needs --rate N');
    const { rate: used, figures } = await runComparison(variants, durations, rate ? Number(rate) : undefined, log, { search: !latencyOnly });
    const base = figures[0];
    const cpuTotal = (c: Record<string, number>) => Math.round(Object.values(c).reduce((a, b) => a + b, 0) * 10) / 10;
    const rows = figures.map((f) => [
      f.variant,
      f.workerStartMs,
      latencyOnly ? '-' : `${f.maxRate}${f.confirmed ? '' : ' (unconfirmed)'}`,
      base && !latencyOnly ? (f.maxRate / base.maxRate).toFixed(2) : '',
      f.atRate.p50Ms,
      f.atRate.p99Ms,
      base ? (f.atRate.p99Ms / base.atRate.p99Ms).toFixed(2) : '',
      f.atRate.errors,
      `${cpuTotal(f.cpuMsPerCheckout)} (${Object.entries(f.cpuMsPerCheckout).map(([p, ms]) => `${p} ${ms}`).join(', ')})`,
      base ? (cpuTotal(f.cpuMsPerCheckout) / cpuTotal(base.cpuMsPerCheckout)).toFixed(2) : '',
      `${f.rssMiB.api ?? '?'} / ${f.rssMiB.worker ?? '?'}`,
    ]);
    console.log(`\nbefore/after at ${used}/s (${quick ? 'quick' : 'full'}; load average at start ${before.loadAverage.join(' ')})`);
    console.log(table(['variant', 'worker start ms', 'max /s', 'x first', `p50 ms`, `p99 ms`, 'p99 x first', 'errors', 'CPU ms/checkout', 'CPU x first', 'RSS MiB api / worker'], rows));
    const files = writeResults(`compare-${stamp()}`, { machine: before, machineAfter: machine(), quick, rate: used, figures });
    log(`figures: ${files.join(', ')}`);
    return;
  }

  const variant = variantNamed(argValue(args, '--variant') ?? 'baseline');
  const stack = await startStackFor(variant, log);
  let figures: BenchFigures;
  try {
    figures = await runBench(stack, durations, soak, log);
  } catch (err) {
    log(`the run failed; the last output of each process:\n${stack.tails()}`);
    throw err;
  } finally {
    await stack.stop();
  }
  printReport(figures, variant.name, quick, before, machine());
}

function printReport(f: BenchFigures, variant: string, quick: boolean, before: ReturnType<typeof machine>, after: ReturnType<typeof machine>): void {
  const rows = [
    ['durable fresh', f.durable.search.maxRate, f.durable.atHalf.offeredPerSecond, f.durable.atHalf.p50Ms, f.durable.atHalf.p95Ms, f.durable.atHalf.p99Ms, f.durable.atHalf.errors],
    ['durable replay', f.replay.search.maxRate, f.replay.atHalf.offeredPerSecond, f.replay.atHalf.p50Ms, f.replay.atHalf.p95Ms, f.replay.atHalf.p99Ms, f.replay.atHalf.errors],
    ['plain fresh', f.plain.search.maxRate, f.plain.atHalf.offeredPerSecond, f.plain.atHalf.p50Ms, f.plain.atHalf.p95Ms, f.plain.atHalf.p99Ms, f.plain.atHalf.errors],
    ['engine floor', f.floor.search.maxRate, f.floor.atHalf.offeredPerSecond, f.floor.atHalf.p50Ms, f.floor.atHalf.p95Ms, f.floor.atHalf.p99Ms, f.floor.atHalf.errors],
  ];
  console.log(`\nresults (${quick ? 'quick' : 'full'}, variant ${variant}; load average at start ${before.loadAverage.join(' ')}, at end ${after.loadAverage.join(' ')})`);
  console.log(table(['', 'max sustained /s', 'measured at /s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors'], rows));
  const unconfirmed = (['durable', 'replay', 'plain', 'floor'] as const).filter((k) => !f[k].search.confirmation);
  if (unconfirmed.length > 0) console.log(`  (not held for the whole confirmation period: ${unconfirmed.join(', ')})`);
  const { eager, starts } = f.floorStarts;
  console.log(`  engine floor: ${eager} of ${starts} starts eager${eager < starts ? ' (the rest went through the task queue: no free workflow task slot in the floor process when started, or the server has system.enableEagerWorkflowStart off)' : ''}`);

  console.log(`\none durable checkout at ${f.durable.atHalf.offeredPerSecond}/s, by step (${f.breakdown.samples} sampled; medians do not add up exactly)`);
  console.log(table(['step', 'median ms', 'p95 ms'], f.breakdown.rows.map((r) => [r.step, r.medianMs, r.p95Ms])));

  const parts = [...new Set(Object.values(f.cpuMsPerCheckout).flatMap((c) => Object.keys(c)))];
  console.log('\nCPU ms per answered request in the half-rate phases, less idle use (all processes of each part; 2 cores = 2,000 CPU ms/s)');
  console.log(
    table(
      ['phase', ...parts, 'total'],
      Object.entries(f.cpuMsPerCheckout).map(([phase, c]) => [phase, ...parts.map((p) => c[p] ?? 0), Math.round(Object.values(c).reduce((a, b) => a + b, 0) * 100) / 100]),
    ),
  );

  const rssTotal = (f.rss.endApiMiB ?? 0) + (f.rss.endWorkerMiB ?? 0);
  const since = f.soak ? 'since the soak\'s first minute' : 'since warm-up';
  console.log(`\nmemory at the end: api ${f.rss.endApiMiB} MiB (${f.rss.apiGrowthPercent}% ${since}), worker ${f.rss.endWorkerMiB} MiB (${f.rss.workerGrowthPercent}%); worker ready ${f.workerStartMs} ms after spawn`);
  if (f.soak) console.log(`soak: ${f.soak.ok}/${f.soak.sent} ok at ${f.soak.offeredPerSecond}/s, p99 ${f.soak.p99Ms} ms`);

  const durableRate = f.durable.search.maxRate;
  const plainRate = f.plain.search.maxRate;
  const ratio = plainRate > 0 ? durableRate / plainRate : 0;
  const floorRate = f.floor.search.maxRate;
  const floorRatio = floorRate > 0 ? durableRate / floorRate : 0;
  const growth = Math.max(f.rss.apiGrowthPercent ?? 0, f.rss.workerGrowthPercent ?? 0);
  const targets: Array<[string, boolean, string]> = [
    ['>= 50 fresh checkouts/s sustained', durableRate >= 50, `${durableRate}/s`],
    ['durable/plain ratio >= 0.3', ratio >= 0.3, ratio.toFixed(2)],
    ['durable/engine-floor ratio >= 0.8 (issue 16)', floorRatio >= 0.8, `${floorRatio.toFixed(2)} (engine floor ${floorRate}/s)`],
    ['fresh p50 <= 80 ms at half rate', f.durable.atHalf.p50Ms <= 80, `${f.durable.atHalf.p50Ms} ms`],
    ['fresh p99 <= 300 ms at half rate', f.durable.atHalf.p99Ms <= 300, `${f.durable.atHalf.p99Ms} ms`],
    ['replay p99 <= 15 ms', f.replay.atHalf.p99Ms <= 15, `${f.replay.atHalf.p99Ms} ms at ${f.replay.atHalf.offeredPerSecond}/s`],
    ['replays >= 2,000/s', f.replay.search.maxRate >= 2_000, `${f.replay.search.maxRate}/s`],
    ['RSS api + worker <= 400 MiB', rssTotal <= 400, `${Math.round(rssTotal)} MiB`],
    [`RSS growth < 10 %${f.soak ? ' over the soak' : ' over this run (the target is for --soak)'}`, growth < 10, `${growth}%`],
  ];
  console.log('\ntargets (docs/performance.md):');
  for (const [what, met, value] of targets) console.log(`  ${met ? 'met    ' : 'NOT met'}  ${what}: ${value}`);

  const name = `bench-${stamp()}`;
  const files = writeResults(
    name,
    { machine: before, machineAfter: after, quick, variant, ratio, floorRatio, targets: targets.map(([what, met, value]) => ({ what, met, value })), ...f },
    {
      title: 'Checkout latency per second at half of each maximum rate (p50, p99)',
      series: [
        { name: `durable p99 @${f.durable.atHalf.offeredPerSecond}/s`, color: '#c0392b', points: f.series.durable?.p99 ?? [] },
        { name: `durable p50`, color: '#e59866', points: f.series.durable?.p50 ?? [] },
        { name: `plain p99 @${f.plain.atHalf.offeredPerSecond}/s`, color: '#1f618d', points: f.series.plain?.p99 ?? [] },
        { name: `plain p50`, color: '#85c1e9', points: f.series.plain?.p50 ?? [] },
        { name: `replay p99 @${f.replay.atHalf.offeredPerSecond}/s`, color: '#1e8449', points: f.series.replay?.p99 ?? [] },
        { name: `engine floor p99 @${f.floor.atHalf.offeredPerSecond}/s`, color: '#7d3c98', points: f.series['engine-floor']?.p99 ?? [] },
      ],
    },
  );
  console.log(`\nfigures: ${files.join(', ')}`);
  console.log(
    `durable/plain ratio ${ratio.toFixed(2)} (durable ${durableRate}/s, plain ${plainRate}/s); durable/engine-floor ${floorRatio.toFixed(2)}; ` +
      `fresh p50 ${f.durable.atHalf.p50Ms} ms, p99 ${f.durable.atHalf.p99Ms} ms; replay p99 ${f.replay.atHalf.p99Ms} ms`,
  );
}

let stopping = false;
async function stopAll(): Promise<void> {
  await Promise.all([...BenchStack.running].map((s) => s.stop().catch(() => undefined)));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping every process the bench started ...`);
    void stopAll().then(() => process.exit(130));
  });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
    await stopAll();
    process.exit(1);
  },
);
