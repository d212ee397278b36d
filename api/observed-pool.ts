// Every query on the api's pool, timed and reported (to the database breaker,
// api/db-guard.ts): pool.query and the queries of a checked-out client alike,
// so a transaction's statements count as well as single queries. A query still
// running past the slow threshold is reported slow then, not when it ends: a
// database that stopped answering must not look healthy for as long as the
// queries' timeout.
import type pg from 'pg';

export type QueryObserver = (durationMs: number, err: unknown, alreadySlow: boolean) => void;

export interface ObservedPool {
  /** Queries running for longer than ms that were not reported yet: each is reported once, here. */
  takeOverdue(ms: number): number;
  /** Whether any query has been running for longer than ms. */
  anyOverdue(ms: number): boolean;
}

export function observePool(pool: pg.Pool, observe: QueryObserver): ObservedPool {
  // start time of each query in flight, and whether it was reported overdue
  const inFlight = new Map<symbol, { started: number; overdue: boolean }>();
  const timed = <F extends (...args: never[]) => unknown>(query: F): F =>
    ((...args: never[]) => {
      const id = Symbol('query');
      const entry = { started: performance.now(), overdue: false };
      const result = query(...args);
      // promise-style calls only: the callback style is not used here
      if (result instanceof Promise) {
        inFlight.set(id, entry);
        const end = (err: unknown) => {
          inFlight.delete(id);
          observe(performance.now() - entry.started, err, entry.overdue);
        };
        result.then(() => end(undefined), end);
      }
      return result;
    }) as F;
  pool.query = timed(pool.query.bind(pool)) as typeof pool.query;
  pool.on('connect', (client) => {
    client.query = timed(client.query.bind(client)) as typeof client.query;
  });
  return {
    anyOverdue(ms) {
      const now = performance.now();
      for (const entry of inFlight.values()) if (now - entry.started > ms) return true;
      return false;
    },
    takeOverdue(ms) {
      const now = performance.now();
      let n = 0;
      for (const entry of inFlight.values()) {
        if (!entry.overdue && now - entry.started > ms) {
          entry.overdue = true;
          n += 1;
        }
      }
      return n;
    },
  };
}
