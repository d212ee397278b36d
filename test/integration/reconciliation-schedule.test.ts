// The reconciliation Schedule on the real Temporal dev server (the
// time-skipping server has no Schedules), with two workers polling the same
// task queue: every tick starts exactly one run, and no tick runs twice.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type ScheduleDescription } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createReconciliationActivities } from '../../activities/reconciliation/activities';
import { ProviderListings } from '../../activities/reconciliation/provider-listings';
import { migrate } from '../../db/migrate';
import { createPool, type Pool } from '../../db/pool';
import { startStub, type RunningStub } from '../../payments-stub/server';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { ensureReconciliationSchedule } from '../../worker/reconciliation-schedule';
import { quietTemporalRuntime, testLogger } from '../support/stack';

const INTERVAL_MS = 2_000; // the Schedule rounds to whole seconds
const TICKS = 5;

let pool: Pool;
let stub: RunningStub;
let listings: ProviderListings;
let connection: Connection;
let client: Client;
const workers: Array<{ worker: Worker; connection: NativeConnection; running: Promise<void> }> = [];
const taskQueue = `recon-sched-${crypto.randomUUID()}`;
const scheduleId = `recon-sched-${crypto.randomUUID()}`;

beforeAll(async () => {
  quietTemporalRuntime();
  pool = createPool(inject('databaseUrl'), 5);
  await migrate(pool);
  stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok', logger: testLogger });
  listings = new ProviderListings({ baseUrl: stub.url, connectTimeoutMs: 500 });
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, namespace: 'default' });
  // two workers as two processes would be: each its own connection, the same task queue
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
  for (let i = 0; i < 2; i += 1) {
    const native = await NativeConnection.connect({ address: inject('temporalAddress') });
    const worker = await Worker.create({
      connection: native,
      namespace: 'default',
      taskQueue,
      workflowBundle,
      activities: createReconciliationActivities({ pool, listings, logger: testLogger, config: { httpTimeoutMs: 5_000 } }),
    });
    workers.push({ worker, connection: native, running: worker.run() });
  }
});

afterAll(async () => {
  await client?.schedule.getHandle(scheduleId).delete().catch(() => undefined);
  for (const w of workers) w.worker.shutdown();
  for (const w of workers) {
    await w.running;
    await w.connection.close();
  }
  await connection?.close();
  await listings?.close();
  await stub?.close();
  await pool?.end();
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('reconciliation Schedule', () => {
  it('is created once by workers starting together, and fires one run per tick with two workers polling', async () => {
    const options = { scheduleId, taskQueue, intervalMs: INTERVAL_MS, settleMs: 0, overlapMs: 0 };
    // two workers starting at the same moment: one creates it, the other finds it as configured
    const outcomes = await Promise.all([
      ensureReconciliationSchedule(client, options, testLogger),
      ensureReconciliationSchedule(client, options, testLogger),
    ]);
    expect(outcomes.sort()).toEqual(['created', 'unchanged']);

    const handle = client.schedule.getHandle(scheduleId);
    await waitFor('the schedule to take its actions', async () => ((await handle.describe()).info.numActionsTaken >= TICKS ? true : undefined));
    await handle.pause('test: counting the runs');
    // every run started has finished, in Temporal and in the runs table
    const described: ScheduleDescription = await waitFor('the last run to finish', async () => {
      const d = await handle.describe();
      if (d.info.runningActions.length > 0) return undefined;
      const unfinished = await pool.query('SELECT 1 FROM reconciliation_runs WHERE schedule_id = $1 AND finished_at IS NULL', [scheduleId]);
      return unfinished.rowCount === 0 ? d : undefined;
    });
    expect(described.policies.overlap).toBe('SKIP');
    const ticks = described.info.numActionsTaken;
    expect(ticks).toBeGreaterThanOrEqual(TICKS);

    // Temporal's view: one workflow per tick, each ID the schedule's plus the tick's time
    const executions = await waitFor('visibility to list every run', async () => {
      const listed: Array<{ workflowId: string; status: string }> = [];
      for await (const wf of client.workflow.list({ query: `TemporalScheduledById = "${scheduleId}"` })) {
        listed.push({ workflowId: wf.workflowId, status: wf.status.name });
      }
      return listed.length === ticks ? listed : undefined;
    });
    const workflowIds = executions.map((e) => e.workflowId);
    expect(new Set(workflowIds).size).toBe(ticks);
    expect(executions.every((e) => e.status === 'COMPLETED')).toBe(true);
    expect(workflowIds.every((id) => id.startsWith(`${scheduleId}-`))).toBe(true);

    // the runs table's view: one run per tick, keyed by its workflow ID, no tick twice
    const runs = (
      await pool.query<{ run_id: string; scheduled_at: Date; window_since: Date; window_until: Date }>(
        'SELECT run_id, scheduled_at, window_since, window_until FROM reconciliation_runs WHERE schedule_id = $1 ORDER BY scheduled_at',
        [scheduleId],
      )
    ).rows;
    expect(runs).toHaveLength(ticks);
    expect(runs.map((r) => r.run_id).sort()).toEqual([...workflowIds].sort());
    expect(new Set(runs.map((r) => r.scheduled_at.getTime())).size).toBe(ticks);
    for (const action of described.info.recentActions) {
      const run = runs.find((r) => r.run_id === action.action.workflow.workflowId);
      expect(run?.scheduled_at.getTime()).toBe(action.scheduledAt.getTime());
    }
    // consecutive windows meet (no overlap configured here): nothing checked twice, nothing skipped
    for (let i = 1; i < runs.length; i += 1) {
      expect(runs[i]?.window_since.getTime()).toBe(runs[i - 1]?.window_until.getTime());
    }

    // a worker restarting with the same configuration leaves the schedule as it is
    expect(await ensureReconciliationSchedule(client, options, testLogger)).toBe('unchanged');
    // one with a new interval brings it in line (a rollout converges on the new configuration)
    expect(await ensureReconciliationSchedule(client, { ...options, intervalMs: 4_000 }, testLogger)).toBe('updated');
    const updated = await handle.describe();
    expect(updated.spec.intervals?.[0]?.every).toBe(4_000);
    expect(updated.action.type === 'startWorkflow' ? updated.action.args : undefined).toEqual([
      { scheduleId, intervalMs: 4_000, settleMs: 0, overlapMs: 0 },
    ]);
  });
});
