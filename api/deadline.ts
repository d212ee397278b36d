import { DatabaseUnavailableError, DeadlinePassed } from '../errors';

/**
 * A dependency that does not answer within this is down as far as the client
 * is concerned: 503 + Retry-After at once rather than spending the whole api budget.
 */
export const DEPENDENCY_BUDGET_MS = 1_000;
/**
 * The promise's outcome, or DeadlinePassed at the deadline (epoch ms), for
 * whatever the gRPC deadline does not bound (connecting, a client built
 * without api/temporal-connection.ts's retries).
 */
export async function settledBy<T>(deadline: number, promise: Promise<T>, message = 'deadline passed'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const passed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlinePassed(message)), Math.max(0, deadline - Date.now()));
  });
  // after the deadline nobody waits for it: a late failure must not go unhandled
  void promise.catch(() => undefined);
  try {
    return await Promise.race([promise, passed]);
  } finally {
    clearTimeout(timer);
  }
}

/** A database read on a request's path, bounded by DEPENDENCY_BUDGET_MS: past it, the database is unavailable (503). */
export async function withinDependencyBudget<T>(read: Promise<T>, what: string): Promise<T> {
  try {
    return await settledBy(Date.now() + DEPENDENCY_BUDGET_MS, read);
  } catch (err) {
    if (err instanceof DeadlinePassed) throw new DatabaseUnavailableError(`${what} took over ${DEPENDENCY_BUDGET_MS} ms`);
    throw err;
  }
}
