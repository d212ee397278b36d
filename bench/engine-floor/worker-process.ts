// Spawns the engine floor's process (worker and starter, worker-main.ts) on
// the bench stack, waits for its HTTP endpoint and its poller, and reads back
// how many of its starts were eager.
import crypto from 'node:crypto';
import { temporal as proto } from '@temporalio/proto';
import { freePort } from '../../stack/free-port';
import type { BenchStack } from '../bench-stack';
import type { FloorStarts } from './start';

export interface EngineFloorProcess {
  /** http://127.0.0.1:port: POST FLOOR_CHECKOUT_PATH */
  origin: string;
  taskQueue: string;
  /** the process's start counts so far (GET /starts) */
  starts(): Promise<FloorStarts>;
}

export async function startEngineFloorWorker(stack: BenchStack, log: (line: string) => void): Promise<EngineFloorProcess> {
  const taskQueue = `engine-floor-${crypto.randomUUID()}`;
  // picked after the stack is up, as the plain handler's
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const spawned = Date.now();
  const part = await stack.startExtra('engine-floor', 'bench/engine-floor/worker-main.ts', {
    ENGINE_FLOOR_TASK_QUEUE: taskQueue,
    ENGINE_FLOOR_PORT: String(port),
    ENGINE_FLOOR_MERCHANT_ID: stack.merchantId,
  });
  const deadline = Date.now() + 120_000;
  const answers = async () => {
    try {
      return (await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok;
    } catch {
      return false;
    }
  };
  for (;;) {
    if (part.service.child.exitCode !== null) throw new Error(`the engine-floor process exited before it was ready:\n${part.tail()}`);
    const described = await stack.client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if ((described.pollers?.length ?? 0) > 0 && (await answers())) break;
    if (Date.now() > deadline) throw new Error(`the engine-floor process did not poll and answer ${origin}/healthz within 120 s:\n${part.tail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  log(`engine-floor process polling ${taskQueue}, taking floor checkouts on ${origin} (ready in ${Date.now() - spawned} ms)`);
  return {
    origin,
    taskQueue,
    async starts() {
      const res = await fetch(`${origin}/starts`, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`${origin}/starts answered ${res.status}`);
      return (await res.json()) as FloorStarts;
    },
  };
}
