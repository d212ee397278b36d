import pg from 'pg';

// bigint columns (money) come back as strings by default; cents fit safely in a JS number
// (the contract caps an amount at 99,999,999), so parse them to numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export type Pool = pg.Pool;

/**
 * onError hears about idle connections that die (Postgres restarting or
 * stopping first); without a listener the process would crash on them.
 */
export function createPool(url: string, max: number, onError: (err: Error) => void = () => undefined): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // never hang on a dead database: fail the checkout fast instead
    connectionTimeoutMillis: 1_000,
    query_timeout: 5_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', onError);
  // pg-pool listens for errors only on idle clients: one that dies while checked
  // out (Postgres restarting between two queries of a transaction) would emit an
  // unhandled 'error' and kill the process. The query itself still fails.
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

/** Runs work in one transaction on one connection: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
