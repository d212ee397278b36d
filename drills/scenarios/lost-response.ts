// docs/design.md, "Failure scenarios and drills", scenario 4: the provider applies the charge, then drops the connection.
import type { Drill } from '../drill';
import { drive, logicalCheckouts, tally } from '../load';

export const lostResponse: Drill = {
  name: 'lost-response',
  summary: 'the provider applies charges and drops the answer: retries hit its idempotency, one charge each',
  fullDuration: 'about 1 min',
  async run({ short, log, startStack }) {
    // the breaker is not under test here: a lost answer counts as a failure and would open it
    const stack = await startStack({ env: { BREAKER_MIN_VOLUME: '1000000', RETRY_BUDGET_MIN_PER_WINDOW: '1000000' } });
    const n = short ? 100 : 500;
    await stack.setFaults({ mode: 'lost_response', fail_rate: 0.3 });
    log(`${n} checkouts with 30 % of provider answers lost`);
    const load = await drive(stack, logicalCheckouts(n, 'lost'), { concurrency: 16, log });
    await stack.setFaults({ mode: 'ok', fail_rate: null });
    await stack.waitUntilSettled(120_000);
    const stats = await stack.stubStats();
    const failures: string[] = [];
    if (stats.charges_applied !== n) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n}`);
    if (stats.faults_injected === 0) failures.push('no response was lost: the drill proved nothing');
    return {
      rows: [
        ['logical checkouts', n],
        ['outcomes', JSON.stringify(tally(load.results))],
        ['answers lost by the provider', stats.faults_injected],
        ['provider replays (retries that found the charge)', stats.replays],
        ['stub charges applied', stats.charges_applied],
      ],
      failures,
    };
  },
};
