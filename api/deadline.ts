import { DeadlinePassed } from '../errors';
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
