// docs/design.md, "Failure scenarios and drills", scenario 3: SIGKILL the workers mid-flight during a burst, several times,
// and start fresh ones: every checkout ends, no charge twice, none lost. The workers run the checkouts' tasks here (the api
// does not start them eagerly on a worker of its own).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Drill } from '../drill';
import { drive, logicalCheckouts, tally } from '../load';

const OPEN_CHECKOUTS = 'ExecutionStatus = "Running" AND WorkflowType = "checkout"';

export const workerCrash: Drill = {
  name: 'worker-crash',
  summary: 'SIGKILL every worker several times during a burst, start fresh ones: every checkout ends, one charge each',
  fullDuration: 'about 4.5 min',
  topologies: ['dev', 'cluster'],
  async run({ short, log, startStack, topology }) {
    const workers = 2;
    // on the cluster one of the two is killed each time, and the other carries on meanwhile
    const killOne = topology === 'cluster';
    // The api starts checkouts without its hosted worker (API_EAGER_START=0), so the worker
    // processes run every checkout's task, as they do when no api hosts one: with it the api runs
    // the happy path, the workers hold almost nothing, and the burst outran the kills. The api
    // hosting the work is drilled by api-crash.
    const stack = await startStack({ workers, env: { API_EAGER_START: '0' } });
    const n = short ? 150 : 1_000;
    const crashes = short ? 2 : 5;
    log(`${n} checkouts on ${workers} workers; SIGKILLing them ${crashes} times along the way`);
    let loadDone = false;
    const load = drive(stack, logicalCheckouts(n, 'workercrash'), { concurrency: 16, log }).finally(() => {
      loadDone = true;
    });
    const openAtCrash: number[] = [];
    const restartSeconds: string[] = [];
    const failures: string[] = [];
    let restartedAt = Date.now();
    for (let i = 1; i <= crashes; i += 1) {
      // crash at evenly spaced points of the burst (by charges applied), at least 2 s after the last restart
      await sleep(2_000);
      while (!loadDone && (await stack.stubStats()).charges_applied < (n * i) / (crashes + 1)) await sleep(100);
      if (loadDone) {
        failures.push(`the burst ended before crash ${i}: the drill proved nothing`);
        break;
      }
      const open = (await stack.client.workflow.count(OPEN_CHECKOUTS)).count;
      const charged = (await stack.stubStats()).charges_applied;
      const killedAt = Date.now();
      let killed = 1;
      if (killOne) await stack.killWorker(stack.workers[0] as (typeof stack.workers)[number]);
      else killed = await stack.killWorkers();
      openAtCrash.push(open);
      log(`crash ${i}/${crashes}: SIGKILLed ${killed} worker(s) with ${open} checkouts open, ${charged} charged; starting ${killed} fresh`);
      await Promise.all(Array.from({ length: killed }, () => stack.startWorker()));
      restartedAt = Date.now();
      restartSeconds.push(((restartedAt - killedAt) / 1000).toFixed(1));
    }
    const result = await load;
    const settledMs = await stack.waitUntilSettled(180_000, (open, pending) => log(`  ... settling: ${open} open, ${pending} pending`));
    const recoveryMs = Date.now() - restartedAt;
    const stats = await stack.stubStats();
    const completed = Number(
      (await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE status = 'completed'`)).rows[0]?.n,
    );
    if (result.errors.length > 0) failures.push(`${result.errors.length} checkouts gave up: ${result.errors[0]}`);
    if (settledMs < 0) failures.push('checkouts still running 180 s after the load ended');
    if (stats.charges_applied !== completed) failures.push(`stub charges applied ${stats.charges_applied}, completed payments ${completed}`);
    if (completed !== n) failures.push(`completed payments ${completed}, expected ${n}`);
    return {
      rows: [
        ['logical checkouts', n],
        [killOne ? `worker crashes (SIGKILL of one of ${workers})` : 'worker crashes (SIGKILL of every worker)', `${openAtCrash.length} x ${killOne ? 1 : workers}`],
        ['checkouts open at each crash', openAtCrash.join(', ')],
        ['kill to fresh workers started', `${restartSeconds.join(', ')} s`],
        ['outcomes', JSON.stringify(tally(result.results))],
        ['requests sent', result.requestsSent],
        ['stub charges applied / completed payments', `${stats.charges_applied} / ${completed}`],
        ['stub replays', stats.replays],
        ['time to full recovery after the last restart', `${(recoveryMs / 1000).toFixed(1)} s`],
        ['duration of the burst', `${(result.durationMs / 1000).toFixed(1)} s`],
      ],
      failures,
    };
  },
};
