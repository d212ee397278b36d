// Every query on the api's pool, timed and reported (to the database breaker,
// api/db-guard.ts): pool.query and the queries of a checked-out client alike,
// so a transaction's statements count as well as single queries.
import type pg from 'pg';

export type QueryObserver = (durationMs: number, err: unknown) => void;

export function observePool(pool: pg.Pool, observe: QueryObserver): void {
  pool.query = timed(pool.query.bind(pool), observe) as typeof pool.query;
  pool.on('connect', (client) => {
    client.query = timed(client.query.bind(client), observe) as typeof client.query;
  });
}

function timed<F extends (...args: never[]) => unknown>(query: F, observe: QueryObserver): F {
  return ((...args: never[]) => {
    const started = performance.now();
    const result = query(...args);
    // promise-style calls only: the callback style is not used here
    if (result instanceof Promise) {
      result.then(
        () => observe(performance.now() - started, undefined),
        (err: unknown) => observe(performance.now() - started, err),
      );
    }
    return result;
  }) as F;
}
