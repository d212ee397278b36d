import { z } from 'zod';
import { ms, parse } from './read';

// ---- Postgres session timeouts and migrations (db/pool.ts, db/migrate.ts) -----------
// A slice of its own, loadDatabaseSessionConfig(), for any process that opens a
// pool or migrates. db/pool.ts and db/migrate.ts use these defaults when given
// nothing. The pool's client-side read timeout (query_timeout) is 5 s, fixed in
// db/pool.ts; the server-side timeouts are set against it:
//  - statement 5 s, never more: Postgres cancels a statement by the time the
//    client gives up on it, so the ROLLBACK queued behind it runs at once instead
//    of timing out too and leaving the connection inside the transaction.
//  - idle in transaction 10 s, two client timeouts: a transaction whose client
//    stopped talking (a stalled process, a dropped connection) gives its locks
//    back, while normal gaps between a transaction's statements stay far below it.
//  - lock 2 s: a lock wait fails fast (55P03, a 503 or a retried activity) and
//    leaves most of the 5 s to the statement itself.
//  - migrations run on a connection of their own: they wait up to 60 s for the
//    migration lock (another api or worker migrating) and for each table lock their
//    DDL needs, and have no statement timeout (0), so a long CREATE INDEX runs to its end.
export const DATABASE_SESSION_DEFAULTS = {
  statementTimeoutMs: 5_000,
  idleInTransactionTimeoutMs: 10_000,
  lockTimeoutMs: 2_000,
  migrationLockTimeoutMs: 60_000,
  migrationStatementTimeoutMs: 0,
} as const;

const databaseSessionVars = {
  // at most the pool's 5 s client read timeout
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().positive().max(5_000).default(DATABASE_SESSION_DEFAULTS.statementTimeoutMs),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: ms(DATABASE_SESSION_DEFAULTS.idleInTransactionTimeoutMs),
  DATABASE_LOCK_TIMEOUT_MS: ms(DATABASE_SESSION_DEFAULTS.lockTimeoutMs),
  MIGRATION_LOCK_TIMEOUT_MS: ms(DATABASE_SESSION_DEFAULTS.migrationLockTimeoutMs),
  // 0: no statement timeout for migrations
  MIGRATION_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(DATABASE_SESSION_DEFAULTS.migrationStatementTimeoutMs),
};

/** Every variable loadDatabaseSessionConfig reads. */
export const DATABASE_SESSION_VARIABLES: string[] = Object.keys(databaseSessionVars);

export interface DatabaseSessionConfig {
  /** createPool's server-side timeouts (db/pool.ts). */
  pool: { statementTimeoutMs: number; idleInTransactionTimeoutMs: number; lockTimeoutMs: number };
  /** migrate's own connection (db/migrate.ts); statementTimeoutMs 0: none. */
  migrations: { lockTimeoutMs: number; statementTimeoutMs: number };
}

export function loadDatabaseSessionConfig(env: NodeJS.ProcessEnv = process.env): DatabaseSessionConfig {
  const e = parse(z.object(databaseSessionVars), env);
  return {
    pool: {
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      lockTimeoutMs: e.DATABASE_LOCK_TIMEOUT_MS,
    },
    migrations: { lockTimeoutMs: e.MIGRATION_LOCK_TIMEOUT_MS, statementTimeoutMs: e.MIGRATION_STATEMENT_TIMEOUT_MS },
  };
}
