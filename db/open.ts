// What the api and the worker do first: a pool with the process's server-side
// timeouts, and the migrations applied (on a connection of their own).
import type { DatabaseConfig, DatabaseSessionConfig } from '../config';
import type { Logger } from '../logger';
import { migrate } from './migrate';
import { createPool, type Pool } from './pool';

export async function openMigratedPool(database: DatabaseConfig, session: DatabaseSessionConfig, logger: Logger): Promise<Pool> {
  const pool = createPool(database.url, database.poolSize, (err) => logger.warn({ err: err.message }, 'idle Postgres connection lost'), session.pool);
  await migrate(pool, { ...session.migrations, log: (line) => logger.info(line) });
  return pool;
}
