// docs/design.md, "Failure scenarios and drills", scenario 5: the process running the ledger
// write dies right after the commit, before Temporal hears of it; the re-executed write finds its
// posting. With eager start a checkout's first workflow task (the ledger write a local activity in
// it) runs inside the api, so the test-only hook is on the api: it SIGKILLs itself after its first
// ledger commit, is started again with the hook, and at the end without it. One worker process
// (no hook) takes over the tasks a dead api held once the workflow task timeout passes.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Drill } from '../drill';
import type { DrillStack, Part } from '../drill-stack';
import { drive, logicalCheckouts, tally } from '../load';

const HOOK = 'CHECKOUT_CRASH_AFTER_LEDGER_COMMIT';
/** How long an api with the hook may run without committing a posting before the drill gives up on it. */
const CRASH_WAIT_MS = 60_000;

/** Whether the part exits within ms (the timer is cleared either way: a pending one would keep the runner alive). */
async function diesWithin(part: Part, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([part.service.exited.then(() => true), sleep(ms, false, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}

async function chargePostings(pool: DrillStack['pool']): Promise<number> {
  return Number((await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger_transactions WHERE step = 'charge'`)).rows[0]?.n);
}

export const crashAfterLedger: Drill = {
  name: 'crash-after-ledger',
  summary: 'the api (hosting a worker) SIGKILLed after a ledger commit (test-only hook), restarted: one posting each, nothing doubled',
  fullDuration: 'about 2 min',
  topologies: ['dev', 'cluster'],
  async run({ short, log, startStack, topology }) {
    // on the cluster only the first api has the hook; the second takes its share of the load throughout
    const stack = await startStack({ workers: 1, apiEnv: topology === 'dev' ? { [HOOK]: '1' } : {} });
    if (topology === 'cluster') {
      await stack.api.service.stop('SIGTERM');
      await stack.startApi({ [HOOK]: '1' });
    }
    const crashes = short ? 2 : 5;
    const n = short ? 40 : 150;
    const items = logicalCheckouts(n, 'ledgercrash');
    const failures: string[] = [];
    const restartSeconds: string[] = [];
    const postingsAtCrash: number[] = [];
    const load = drive(stack, items, { concurrency: 8, log });
    let crashed = 0;
    let recoveryStart = Date.now();
    while (crashed < crashes) {
      const api = stack.api;
      const died = await diesWithin(api, CRASH_WAIT_MS);
      if (!died) {
        failures.push(`the api with the hook ran ${CRASH_WAIT_MS / 1000} s without a ledger commit (crash ${crashed + 1}/${crashes}): does it still run the first workflow task?`);
        // the rest of the burst on an api without the hook
        await api.service.stop('SIGKILL');
        await stack.startApi({ [HOOK]: '0' });
        recoveryStart = Date.now();
        break;
      }
      crashed += 1;
      // nothing but the hook SIGKILLs it here (its log line may not make it out: pino writes
      // asynchronously), and only after a posting of its own committed
      const how = api.service.child.signalCode ?? `exit ${api.service.child.exitCode}`;
      const posted = await chargePostings(stack.pool);
      postingsAtCrash.push(posted);
      if (how !== 'SIGKILL') failures.push(`crash ${crashed}: the api died by ${how}, not the hook:\n${api.tail().slice(-1_500)}`);
      else if (posted <= (postingsAtCrash.at(-2) ?? 0)) failures.push(`crash ${crashed}: the api died with no new ledger posting (${posted} in all)`);
      const hooked = crashed < crashes;
      log(`crash ${crashed}/${crashes}: api died by ${how} after a ledger commit (${posted} postings so far); starting a new one ${hooked ? 'with' : 'without'} the hook`);
      const diedAt = Date.now();
      try {
        await stack.startApi({ [HOOK]: hooked ? '1' : '0' });
      } catch (err) {
        // an api with the hook may commit (a task its worker polled) and die before it answers /readyz: the next crash
        if (hooked && stack.api !== api && stack.api.service.child.signalCode === 'SIGKILL' && /exited/.test((err as Error).message)) continue;
        throw err;
      }
      restartSeconds.push(((Date.now() - diedAt) / 1000).toFixed(1));
      recoveryStart = Date.now();
    }
    const result = await load;
    const settledMs = await stack.waitUntilSettled(180_000, (open, pending) => log(`  ... settling: ${open} open, ${pending} pending`));
    const recoveryMs = Date.now() - recoveryStart;
    const postings = await stack.pool.query<{ n: number; dup: number }>(
      `SELECT count(*)::int AS n, (count(*) - count(DISTINCT workflow_id))::int AS dup FROM ledger_transactions WHERE step = 'charge'`,
    );
    const stats = await stack.stubStats();
    const completed = result.results.filter((r) => r.status === 'completed').length;
    if (result.errors.length > 0) failures.push(`${result.errors.length} checkouts gave up: ${result.errors[0]}`);
    if (completed !== n) failures.push(`${completed} checkouts completed, expected ${n}: ${JSON.stringify(tally(result.results))}`);
    if (postings.rows[0]?.n !== n || postings.rows[0]?.dup !== 0) failures.push(`ledger postings ${postings.rows[0]?.n} (${postings.rows[0]?.dup} duplicates), expected ${n} (0)`);
    if (stats.charges_applied !== n) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n}`);
    if (settledMs < 0) failures.push('checkouts still running 180 s after the last restart');
    return {
      rows: [
        ['logical checkouts', n],
        ['api crashes after a ledger commit', crashed],
        ['ledger charge postings at each crash', postingsAtCrash.join(', ')],
        ['crash to new api ready', `${restartSeconds.join(', ')} s`],
        ['outcomes', JSON.stringify(tally(result.results))],
        ['requests sent', result.requestsSent],
        ['ledger charge postings (duplicates)', `${postings.rows[0]?.n} (${postings.rows[0]?.dup})`],
        ['stub charges applied / replays', `${stats.charges_applied} / ${stats.replays}`],
        ['time to full recovery after the last restart', `${(recoveryMs / 1000).toFixed(1)} s`],
      ],
      failures,
    };
  },
};
