// Spawns the engine floor's worker on the bench stack and waits for its poller.
import crypto from 'node:crypto';
import { temporal as proto } from '@temporalio/proto';
import type { BenchStack } from '../bench-stack';

export async function startEngineFloorWorker(stack: BenchStack, log: (line: string) => void): Promise<string> {
  const taskQueue = `engine-floor-${crypto.randomUUID()}`;
  const spawned = Date.now();
  const part = await stack.startExtra('engine-floor', 'bench/engine-floor/worker-main.ts', { ENGINE_FLOOR_TASK_QUEUE: taskQueue });
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (part.service.child.exitCode !== null) throw new Error(`the engine-floor worker exited before polling:\n${part.tail()}`);
    const described = await stack.client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if ((described.pollers?.length ?? 0) > 0) break;
    if (Date.now() > deadline) throw new Error('the engine-floor worker did not poll within 120 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  log(`engine-floor worker polling ${taskQueue} (ready in ${Date.now() - spawned} ms)`);
  return taskQueue;
}
