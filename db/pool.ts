import pg from 'pg';
import { DATABASE_SESSION_DEFAULTS } from '../config';

// bigint columns (money) come back as strings by default; cents fit safely in a JS number
// (the contract caps an amount at 99,999,999), so parse them to numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export type Pool = pg.Pool;

/** The client's read timeout of every statement on a pool connection, unless a query sets its own. */
export const POOL_QUERY_TIMEOUT_MS = 5_000;

/**
 * Server-side timeouts of every pool connection, sent as connection parameters
 * so they hold from the connection's first statement (the defaults and why:
 * config.ts, "Postgres session timeouts"). queryTimeoutMs is the client-side
 * read timeout (tests shorten it).
 */
export interface PoolTimeouts {
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  lockTimeoutMs?: number;
  queryTimeoutMs?: number;
}

/**
 * onError hears about idle connections that die (Postgres restarting or
 * stopping first); without a listener the process would crash on them.
 */
export function createPool(url: string, max: number, onError: (err: Error) => void = () => undefined, timeouts: PoolTimeouts = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // never hang on a dead database: fail the checkout fast instead
    connectionTimeoutMillis: 1_000,
    query_timeout: timeouts.queryTimeoutMs ?? POOL_QUERY_TIMEOUT_MS,
    // and Postgres gives up too, so a statement the client abandoned does not
    // keep running, holding locks, with a ROLLBACK stuck behind it
    statement_timeout: timeouts.statementTimeoutMs ?? DATABASE_SESSION_DEFAULTS.statementTimeoutMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs ?? DATABASE_SESSION_DEFAULTS.idleInTransactionTimeoutMs,
    lock_timeout: timeouts.lockTimeoutMs ?? DATABASE_SESSION_DEFAULTS.lockTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', onError);
  // pg-pool listens for errors only on idle clients: one that dies while checked
  // out (Postgres restarting between two queries of a transaction) would emit an
  // unhandled 'error' and kill the process. The query itself still fails.
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

/**
 * Runs work in one transaction on one connection: committed if it returns,
 * rolled back if it throws. If the ROLLBACK fails too (it timed out queued
 * behind a statement Postgres is still running, or the connection died), the
 * connection may still be inside the transaction: it is closed, never handed to
 * the next caller, whose COMMIT would commit this half-done work. Closing the
 * session makes Postgres roll the transaction back.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
    }
    throw err;
  } finally {
    client.release(broken);
  }
}
