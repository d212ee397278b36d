// docs/design.md, "Failure scenarios and drills", scenario 5: the worker dies right after the ledger commit, before Temporal
// hears the activity completed; the re-executed activity finds its posting.
import type { Drill } from '../drill';
import { drive, logicalCheckouts, tally } from '../load';

export const crashAfterLedger: Drill = {
  name: 'crash-after-ledger',
  summary: 'SIGKILL after the ledger commit (test-only hook), restart: one posting each, nothing doubled',
  fullDuration: 'about 2 min',
  async run({ short, log, startStack }) {
    const stack = await startStack({ workers: 0 });
    const crashes = short ? 2 : 5;
    const n = short ? 40 : 150;
    const items = logicalCheckouts(n, 'ledgercrash');
    const load = drive(stack, items, { concurrency: 8, log });
    for (let i = 1; i <= crashes; i += 1) {
      // the hook kills the worker after its first ledger commit (CHECKOUT_CRASH_AFTER_LEDGER_COMMIT)
      const worker = await stack.startWorker({ CHECKOUT_CRASH_AFTER_LEDGER_COMMIT: '1' });
      await worker.service.exited;
      log(`crash ${i}/${crashes}: worker died by ${worker.service.child.signalCode ?? `exit ${worker.service.child.exitCode}`} after a ledger commit`);
    }
    await stack.killWorkers();
    log('starting a worker without the hook');
    const recoveryStart = Date.now();
    await stack.startWorker();
    const result = await load;
    const settledMs = await stack.waitUntilSettled(180_000);
    const postings = await stack.pool.query<{ n: number; dup: number }>(
      `SELECT count(*)::int AS n, (count(*) - count(DISTINCT workflow_id))::int AS dup FROM ledger_transactions WHERE step = 'charge'`,
    );
    const stats = await stack.stubStats();
    const failures: string[] = [];
    if (postings.rows[0]?.n !== n) failures.push(`ledger postings ${postings.rows[0]?.n}, expected ${n}`);
    if (stats.charges_applied !== n) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n}`);
    if (settledMs < 0) failures.push('checkouts still running 180 s after the last restart');
    return {
      rows: [
        ['logical checkouts', n],
        ['worker crashes after a ledger commit', crashes],
        ['outcomes', JSON.stringify(tally(result.results))],
        ['ledger charge postings (duplicates)', `${postings.rows[0]?.n} (${postings.rows[0]?.dup})`],
        ['stub charges applied', stats.charges_applied],
        ['time to full recovery after the last restart', `${((Date.now() - recoveryStart) / 1000).toFixed(1)} s`],
      ],
      failures,
    };
  },
};
