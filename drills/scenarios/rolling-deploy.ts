// A rolling deploy under load: each of two workers in turn is stopped with
// SIGTERM (as a deploy stops a process) and replaced, then the api, while
// checkouts keep coming through the bundled client. A worker stopping must
// finish what it runs (WORKER_SHUTDOWN_GRACE_MS), not cancel it: no activity
// attempt ends cancelled by a shutdown, the api never answers anything but
// 201, 200 or 202 (connection errors while it restarts are retried with the
// same key), and every checkout completes once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { createCheckoutClient } from '../../client/checkout-client';
import { countAnswers, startBurst } from '../client-burst';
import type { Drill, DrillContext, DrillResult } from '../drill';
import type { Part } from '../drill-stack';
import { tally } from '../load';
import { writeWorkflowBundle } from '../../worker/workflow-bundle';

const { EventType } = temporal.api.enums.v1;
const OPEN_CHECKOUTS = 'ExecutionStatus = "Running" AND WorkflowType = "checkout"';
/** What a worker logs when the SDK cancels an activity at shutdown, or an activity reports its call cancelled. */
const CANCELLATION_LINE = /WORKER_SHUTDOWN|provider call cancelled|CancelledFailure/;

/** Counts lines of a part's output matching pattern, from now on. */
function countLines(part: Part, pattern: RegExp): () => number {
  let n = 0;
  const count = (chunk: Buffer) => {
    n += chunk
      .toString()
      .split('\n')
      .filter((line) => pattern.test(line)).length;
  };
  part.service.child.stdout?.on('data', count);
  part.service.child.stderr?.on('data', count);
  return () => n;
}

/**
 * Over every checkout's history: activity attempts that ended cancelled (a
 * shutdown's cancellation, or any other) and attempts retried for any cause.
 * A failed attempt that is retried leaves no event of its own: the next
 * ActivityTaskStarted carries its attempt number and the last failure.
 */
async function activityOutcomes(client: Client): Promise<{ workflows: number; cancelled: string[]; retried: number }> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: 'WorkflowType = "checkout"' })) ids.push(wf.workflowId);
  const cancelled: string[] = [];
  let retried = 0;
  // failure messages are encrypted in the history (temporal/failure-converter.ts): read them through the client's converter
  const messageOf = async (failure: temporal.api.failure.v1.IFailure | null | undefined) => {
    const err = await decodeOptionalFailureToOptionalError(client.options.loadedDataConverter, failure);
    return `${err?.message ?? ''} ${(err?.cause as Error | undefined)?.message ?? ''}`;
  };
  const isCancellation = async (failure: temporal.api.failure.v1.IFailure | null | undefined) =>
    Boolean(failure?.canceledFailureInfo) || /cancel|WORKER_SHUTDOWN/i.test(await messageOf(failure));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const id = ids[next++] as string;
        const history = await client.workflow.getHandle(id).fetchHistory();
        for (const event of history.events ?? []) {
          if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED) cancelled.push(`${id}: activity cancelled`);
          const started = event.activityTaskStartedEventAttributes;
          if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && (started?.attempt ?? 1) > 1) {
            retried += 1;
            if (await isCancellation(started?.lastFailure)) cancelled.push(`${id}: attempt ${started?.attempt} after "${await messageOf(started?.lastFailure)}"`);
          }
          const failure = event.activityTaskFailedEventAttributes?.failure;
          if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED && (await isCancellation(failure))) cancelled.push(`${id}: failed "${await messageOf(failure)}"`);
        }
      }
    }),
  );
  return { workflows: ids.length, cancelled, retried };
}

export const rollingDeploy: Drill = {
  name: 'rolling-deploy',
  summary: 'SIGTERM and replace each of 2 workers in turn, then the api, during a burst: nothing cancelled, only 201/200/202, one charge each',
  fullDuration: 'about 4 min',
  async run(ctx) {
    // as a deploy ships it: the workflow code bundled once, ahead of the workers (WORKER_WORKFLOW_BUNDLE)
    const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-deploy-bundle-'));
    try {
      return await deploys(ctx, path.join(bundleDir, 'workflow-bundle.js'));
    } finally {
      fs.rmSync(bundleDir, { recursive: true, force: true });
    }
  },
};

async function deploys({ short, log, startStack }: DrillContext, bundle: string): Promise<DrillResult> {
  const workers = 2;
  const workerEnv = { WORKER_WORKFLOW_BUNDLE: bundle };
  // a provider that takes its time keeps charges in flight when each SIGTERM lands
  const [stack] = await Promise.all([startStack({ workers: 0, env: { LATENCY_MS: '400' } }), writeWorkflowBundle(bundle)]);
  await Promise.all(Array.from({ length: workers }, () => stack.startWorker(workerEnv)));
  log(`${workers} workers up on a prebuilt workflow bundle`);
  const rounds = short ? 1 : 3;
  const pauseMs = short ? 3_000 : 10_000;
  const failures: string[] = [];
  const cancellationLines: Array<() => number> = stack.workers.map((w) => countLines(w, CANCELLATION_LINE));

  // the burst: the bundled client, every request's answer counted
  const counts = countAnswers();
  const client = createCheckoutClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey, maxAttempts: 30, totalTimeoutMs: 300_000, requestTimeoutMs: 10_000, onAttempt: counts.onAttempt });
  let deploying = true;
  const cap = short ? 3_000 : 20_000;
  const burst = startBurst(client, { concurrency: 12, keyPrefix: 'deploy', more: (i) => deploying && i < cap, keyInErrors: false, log });

  const workerStops: string[] = [];
  const apiStops: string[] = [];
  try {
    for (let round = 1; round <= rounds; round += 1) {
      for (const old of [...stack.workers]) {
        await sleep(pauseMs);
        const open = (await stack.client.workflow.count(OPEN_CHECKOUTS)).count;
        const pid = old.service.child.pid;
        const stopped = await stack.stopWorker(old, 'SIGTERM');
        const how = stopped.signal ?? `exit ${stopped.code}`;
        log(`deploy ${round}/${rounds}: worker ${pid} stopped by SIGTERM with ${open} checkouts open: ${how} after ${(stopped.ms / 1000).toFixed(1)} s; starting its replacement`);
        workerStops.push(`${(stopped.ms / 1000).toFixed(1)} s (${how})`);
        if (stopped.code !== 0) failures.push(`worker ${pid} ended ${how} on SIGTERM, not exit 0:\n${old.tail().slice(-1_500)}`);
        const fresh = await stack.startWorker(workerEnv);
        cancellationLines.push(countLines(fresh, CANCELLATION_LINE));
      }
      await sleep(pauseMs);
      const restarted = await stack.restartApi();
      const how = restarted.code === null ? 'SIGKILLed: it did not exit in time' : `exit ${restarted.code}`;
      log(`deploy ${round}/${rounds}: api stopped by SIGTERM (${how}) in ${(restarted.stopMs / 1000).toFixed(1)} s, the new one ready in ${(restarted.startMs / 1000).toFixed(1)} s`);
      apiStops.push(`${(restarted.stopMs / 1000).toFixed(1)} s (${how}) + ${(restarted.startMs / 1000).toFixed(1)} s`);
      // not a failure of this drill's checks (the clients retry what it dropped), but a deploy should not need a SIGKILL
      if (restarted.code !== 0) log(`WARNING: the api did not exit on its own after SIGTERM (${how}): its server waits on busy keep-alive connections`);
    }
    await sleep(pauseMs);
  } finally {
    deploying = false;
    await burst.done;
  }
  const { results, errors } = burst;
  const n = burst.started();
  if (n >= cap) failures.push(`the burst hit its cap of ${cap} checkouts before the deploys were over`);

  const loadEnded = Date.now();
  const settledMs = await stack.waitUntilSettled(120_000, (open, pending) => log(`  ... settling: ${open} open, ${pending} pending`));
  const outcomes = await activityOutcomes(stack.client);
  const cancelledInLogs = cancellationLines.reduce((sum, count) => sum + count(), 0);
  const stats = await stack.stubStats();
  const completed = Number(
    (await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE status = 'completed'`)).rows[0]?.n,
  );
  const unexpected = [...counts.answers].filter(([status]) => !['200', '201', '202'].includes(status));

  if (outcomes.cancelled.length > 0) failures.push(`${outcomes.cancelled.length} activity attempts cancelled: ${outcomes.cancelled.slice(0, 3).join('; ')}`);
  if (cancelledInLogs > 0) failures.push(`${cancelledInLogs} cancellation lines in the workers' logs`);
  if (unexpected.length > 0) failures.push(`answers other than 201/200/202: ${JSON.stringify(Object.fromEntries(unexpected))}`);
  if (errors.length > 0) failures.push(`${errors.length} checkouts gave up: ${errors[0]}`);
  if (settledMs < 0) failures.push('checkouts still running 120 s after the load ended');
  if (completed !== n) failures.push(`completed payments ${completed}, expected ${n}`);
  if (stats.charges_applied !== completed) failures.push(`stub charges applied ${stats.charges_applied}, completed payments ${completed}`);
  return {
    rows: [
      ['logical checkouts', n],
      ['worker deploys (SIGTERM, exit, replacement)', `${workerStops.length}: ${workerStops.join(', ')}`],
      ['api deploys (stop + new one ready)', `${apiStops.length}: ${apiStops.join(', ')}`],
      ['answers by HTTP status', JSON.stringify(Object.fromEntries([...counts.answers].sort()))],
      ['connection errors while the api restarted (retried, same key)', counts.connectionErrors],
      ['activity attempts cancelled (histories / worker log lines)', `${outcomes.cancelled.length} / ${cancelledInLogs}`],
      ['activity attempts retried, any cause', outcomes.retried],
      ['checkout histories read', outcomes.workflows],
      ['outcomes', JSON.stringify(tally(results))],
      ['stub charges applied / completed payments', `${stats.charges_applied} / ${completed}`],
      ['time to settle after the load', `${((Date.now() - loadEnded) / 1000).toFixed(1)} s`],
    ],
    failures,
  };
}
