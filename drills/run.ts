// `npm run drill -- <name>|all [--short] [--topology dev|cluster]` and `npm run drill -- --list`.
// Each drill starts its own stack of processes, drives load, prints a report
// and ends with `invariants: ok (...)` or `invariants: BROKEN (...)`. On
// --topology cluster (npm run start:cluster's shape) `all` runs the drills made
// for it; naming another is refused.
import { DrillStack, TOPOLOGIES, type DrillStackOptions, type Topology } from './drill-stack';
import type { Drill, DrillResult } from './drill';
import { DRILLS } from './registry';
import { checkInvariants, invariantLine } from './invariants';

const started: DrillStack[] = [];
let interrupted = false;

async function stopStacks(): Promise<void> {
  while (started.length > 0) await started.pop()?.stop().catch(() => undefined);
}

function table(rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

async function runDrill(drill: Drill, short: boolean, topology: Topology): Promise<boolean> {
  const log = (line: string) => console.log(`[${drill.name}] ${line}`);
  const t0 = Date.now();
  log(`${drill.summary}${short ? ' (short)' : ` (full: ${drill.fullDuration})`}${topology === 'dev' ? '' : ` on topology ${topology}`}`);
  let result: DrillResult;
  let stack: DrillStack | undefined;
  try {
    result = await drill.run({
      short,
      topology,
      log,
      startStack: async (options: Omit<DrillStackOptions, 'log' | 'topology'> = {}) => {
        stack = await DrillStack.start({ ...options, topology, log });
        started.push(stack);
        return stack;
      },
    });
    if (!stack) throw new Error('the drill started no stack');
    const invariants = await checkInvariants({ pool: stack.pool, stubUrl: stack.stubUrl, client: stack.client });
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`\n[${drill.name}] report (${seconds} s)\n${table(result.rows)}`);
    for (const failure of result.failures) console.log(`[${drill.name}] FAILED: ${failure}`);
    const line = invariantLine(invariants);
    console.log(`[${drill.name}] ${result.failures.length > 0 && invariants.ok ? `invariants: BROKEN (${result.failures.join('; ')})` : line}`);
    return invariants.ok && result.failures.length === 0;
  } catch (err) {
    console.log(`[${drill.name}] invariants: BROKEN (the drill could not finish: ${(err as Error).message})`);
    return false;
  } finally {
    await stopStacks();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--list') || args.length === 0) {
    for (const d of DRILLS) console.log(`${d.name.padEnd(20)} ${d.summary} (full: ${d.fullDuration}; topologies: ${topologiesOf(d).join(', ')})`);
    if (args.length === 0) console.log('\nusage: npm run drill -- <name>|all [--short] [--topology dev|cluster]');
    return;
  }
  const short = args.includes('--short');
  const topologyAt = args.indexOf('--topology');
  const topologyArg = topologyAt >= 0 ? args[topologyAt + 1] : 'dev';
  if (!TOPOLOGIES.includes(topologyArg as Topology)) {
    console.error(`--topology takes ${TOPOLOGIES.join(' or ')}, got ${topologyArg ?? 'nothing'}`);
    process.exit(2);
  }
  const topology = topologyArg as Topology;
  const names = args.filter((a, i) => !a.startsWith('--') && !(topologyAt >= 0 && i === topologyAt + 1));
  const unknown = names.filter((n) => n !== 'all' && !DRILLS.some((d) => d.name === n));
  if (unknown.length > 0) {
    console.error(`unknown drill ${unknown.join(', ')}; npm run drill -- --list shows them`);
    process.exit(2);
  }
  const unfit = names.filter((n) => n !== 'all' && !topologiesOf(DRILLS.find((d) => d.name === n) as Drill).includes(topology));
  if (unfit.length > 0) {
    console.error(`${unfit.join(', ')} does not run on topology ${topology}; npm run drill -- --list shows where each runs`);
    process.exit(2);
  }
  const chosen = (names.includes('all') ? DRILLS : DRILLS.filter((d) => names.includes(d.name))).filter((d) => topologiesOf(d).includes(topology));
  const outcomes: Array<[string, boolean, number]> = [];
  for (const drill of chosen) {
    if (interrupted) break;
    const t = Date.now();
    outcomes.push([drill.name, await runDrill(drill, short, topology), Date.now() - t]);
  }
  if (chosen.length > 1) {
    console.log('\ndrills:');
    for (const [name, ok, ms] of outcomes) console.log(`  ${name.padEnd(20)} ${ok ? 'ok' : 'BROKEN'}  ${(ms / 1000).toFixed(1)} s`);
  }
  process.exitCode = outcomes.every(([, ok]) => ok) && !interrupted ? 0 : 1;
}

function topologiesOf(drill: Drill): readonly Topology[] {
  return drill.topologies ?? ['dev'];
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted = true;
    console.log(`\n${signal}: stopping every process the drill started ...`);
    void stopStacks().then(() => process.exit(130));
  });
}

main().catch(async (err: unknown) => {
  console.error(`drill runner failed: ${(err as Error).message}`);
  await stopStacks();
  process.exit(1);
});
