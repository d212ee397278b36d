import { z } from 'zod';
import { ConfigError } from '../errors';
import { parse } from './read';

// ---- worker shutdown: draining on SIGTERM/SIGINT (worker/main.ts, worker/build.ts) ----
// A slice of its own, read by loadWorkerConfig into WorkerConfig.shutdown. On a
// signal the worker stops its webhook outbox dispatcher first, then its Workers
// stop polling and let in-flight tasks finish for WORKER_SHUTDOWN_GRACE_MS
// (the SDK's shutdownGraceTime; its own default, 0, cancels a charge mid-call)
// before cancelling what is left. Unset: CHARGE_TIMEOUT_MS + 1 s, so a charge
// in flight always finishes; set, it must exceed CHARGE_TIMEOUT_MS.
export const workerShutdownVars = {
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().optional(),
};

/** Every variable of the worker-shutdown group. */
export const WORKER_SHUTDOWN_VARIABLES: string[] = Object.keys(workerShutdownVars);

export function workerShutdownOf(env: NodeJS.ProcessEnv, chargeMs: number): { graceMs: number } {
  const e = parse(z.object(workerShutdownVars), env);
  const graceMs = e.WORKER_SHUTDOWN_GRACE_MS ?? chargeMs + 1_000;
  if (!(graceMs > chargeMs)) {
    throw new ConfigError(`invalid configuration: WORKER_SHUTDOWN_GRACE_MS (${graceMs}) must exceed CHARGE_TIMEOUT_MS (${chargeMs}), or a deploy cancels charges in flight`);
  }
  return { graceMs };
}
