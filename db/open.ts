// What the api and the worker do first: a pool with the process's server-side
// timeouts, as the application's role (DATABASE_URL), and the migrations
// applied as the tables' owner (DATABASE_MIGRATION_URL), on a connection of
// their own, ending with the application role's grants.
import type { DatabaseConfig, DatabaseSessionConfig } from '../config';
import type { Logger } from '../logger';
import { applicationRoleOf, migrate } from './migrate';
import { createPool, type Pool } from './pool';

export async function openMigratedPool(database: DatabaseConfig, session: DatabaseSessionConfig, logger: Logger): Promise<Pool> {
  const pool = createPool(database.url, database.poolSize, (err) => logger.warn({ err: err.message }, 'idle Postgres connection lost'), session.pool);
  await migrate(database.migrationUrl, {
    ...session.migrations,
    appRole: applicationRoleOf(database.url, database.migrationUrl),
    log: (line) => logger.info(line),
  });
  return pool;
}
