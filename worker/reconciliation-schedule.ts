// The Temporal Schedule that runs reconciliation: created, or brought in line
// with this worker's configuration, when a worker starts. At worker start
// rather than a separate deploy step because every deployment runs workers and
// a schedule nobody can run is useless; drills and `npm start` get it for free.
// Any number of workers may do this at once: the Schedule exists once per ID,
// and the Schedule (not the workers) decides when a run starts, so many workers
// still mean one run per tick.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { Logger } from '../logger';
import { RECONCILIATION_WORKFLOW_TYPE, type ReconciliationInput } from '../domain/reconciliation';

export interface ReconciliationScheduleOptions {
  scheduleId: string;
  taskQueue: string;
  intervalMs: number;
  settleMs: number;
  overlapMs: number;
}

// The server refuses a catch-up window under 10 s.
const MIN_CATCHUP_WINDOW_MS = 10_000;

export async function ensureReconciliationSchedule(
  client: Client,
  options: ReconciliationScheduleOptions,
  logger: Logger,
): Promise<'created' | 'updated' | 'unchanged'> {
  const input: ReconciliationInput = {
    scheduleId: options.scheduleId,
    intervalMs: options.intervalMs,
    settleMs: options.settleMs,
    overlapMs: options.overlapMs,
  };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: RECONCILIATION_WORKFLOW_TYPE,
    // the server appends each tick's scheduled time: one workflow ID per tick
    workflowId: options.scheduleId,
    taskQueue: options.taskQueue,
    args: [input],
    // a backstop: the activities' bounded retries end a run well before this
    workflowExecutionTimeout: 60 * 60 * 1000,
  };
  const spec = { intervals: [{ every: options.intervalMs }] };
  const policies = {
    // a tick while a run is still going is skipped; the next run's window starts
    // where the last finished one ended, so nothing goes unchecked
    overlap: ScheduleOverlapPolicy.SKIP,
    // after an outage take at most one missed tick; its window covers the gap
    catchupWindow: Math.max(MIN_CATCHUP_WINDOW_MS, options.intervalMs),
  };
  try {
    await client.schedule.create({ scheduleId: options.scheduleId, spec, action, policies });
    logger.info({ scheduleId: options.scheduleId, everyMs: options.intervalMs }, 'reconciliation schedule created');
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(options.scheduleId);
  const current = await handle.describe();
  const currentAction = current.action.type === 'startWorkflow' ? current.action : undefined;
  const same =
    current.spec.intervals?.length === 1 &&
    Number(current.spec.intervals[0]?.every) === options.intervalMs &&
    currentAction?.taskQueue === options.taskQueue &&
    JSON.stringify(currentAction?.args) === JSON.stringify(action.args) &&
    current.policies.overlap === policies.overlap;
  if (same) return 'unchanged';
  // the last worker to start with a new configuration wins; a rollout converges
  await handle.update((previous) => ({ ...previous, spec, action, policies: { ...previous.policies, ...policies } }));
  logger.info({ scheduleId: options.scheduleId, everyMs: options.intervalMs }, 'reconciliation schedule updated');
  return 'updated';
}
