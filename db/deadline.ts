// Work on one connection bounded by a deadline: connecting and every
// statement get only what is left of it, so a slow or unreachable Postgres
// answers DatabaseUnavailableError in time instead of holding a request.
import type pg from 'pg';
import { DatabaseUnavailableError } from '../errors';

/** Runs one statement with what is left of the deadline as its read timeout. */
export type Run = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * Connects within the deadline (epoch ms) and runs work with a Run bound by it.
 * A connection that saw an error may be mid-transaction or mid-query: it is
 * closed rather than reused.
 */
export async function withConnectionBy<T>(pool: pg.Pool, deadline: number, work: (run: Run) => Promise<T>): Promise<T> {
  const remaining = () => {
    const ms = deadline - Date.now();
    if (ms <= 0) throw new DatabaseUnavailableError('Postgres did not answer within the deadline');
    return ms;
  };
  const client = await connectWithin(pool, remaining());
  // pg honours a per-query read timeout (query_timeout) though its types don't list it
  const run: Run = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    const query: pg.QueryConfig & { query_timeout: number } = { text, values, query_timeout: remaining() };
    return client.query<R>(query);
  };
  let broken: Error | undefined;
  try {
    return await work(run);
  } catch (err) {
    broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(broken);
  }
}

/** pool.connect() bounded by ms; a connection arriving after that goes back to the pool. */
export async function connectWithin(pool: pg.Pool, ms: number): Promise<pg.PoolClient> {
  const pending = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`no Postgres connection within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (err) {
    pending.then(
      (late) => late.release(),
      () => undefined,
    );
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
