// Migrations: the .sql files in db/migrations, applied once each, in name order,
// by the api and the worker at start (and `npm run migrate`).
//
// The rules for a migration file:
//  - Never edit, rename or delete a file once it may have been applied anywhere;
//    add a new one. schema_migrations keeps each applied file's sha256, and
//    migrate refuses to go on (one line naming the file) when a file differs
//    from what was applied.
//  - A file runs in one transaction together with its schema_migrations row:
//    all of it or nothing.
//  - A file whose first line is exactly `-- migrate: no-transaction` runs outside
//    a transaction, one statement at a time (split on the `;` between
//    statements), and is recorded only after its last statement succeeded. After
//    a failure it runs again from its first statement, so every statement in it
//    must be safe to run twice (IF NOT EXISTS, IF EXISTS). It is for
//    `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS` (IF NOT EXISTS is
//    required): an index on a table that already holds rows is built this way,
//    since a plain CREATE INDEX blocks the table's writes for the whole build. A
//    concurrent build that was interrupted leaves an INVALID index under its
//    name, which IF NOT EXISTS would keep; migrate drops such an index (DROP
//    INDEX CONCURRENTLY) and builds it again. Keep other DDL out of these files.
//  - Migrations run on a connection of their own, never a pool's (whose
//    statements time out after 5 s): no statement timeout (0, or
//    MIGRATION_STATEMENT_TIMEOUT_MS), and up to MIGRATION_LOCK_TIMEOUT_MS (60 s)
//    for any lock: the advisory lock that lets one process migrate at a time
//    (api and workers start together; a progress line every 5 s while waiting),
//    and each table lock the DDL needs.
//  - Migrations run as the tables' owner (DATABASE_MIGRATION_URL); the
//    application connects as a role that owns nothing (DATABASE_URL). Given
//    that role (appRole), every run ends by granting it what it lacks on the
//    schema's tables, sequences and functions (grantToApplication says why not
//    ALTER DEFAULT PRIVILEGES). A role that owns nothing may still run migrate
//    when every file is applied (it checks and returns []), so a process
//    without DATABASE_MIGRATION_URL starts against an up-to-date database.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { DATABASE_SESSION_DEFAULTS } from '../config';
import type { Pool } from './pool';

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
// Any fixed number: serialises concurrent migrators (api and worker start together).
export const MIGRATION_LOCK_ID = 727_001;
/** The first line of a migration that must run outside a transaction. */
export const NO_TRANSACTION_MARKER = '-- migrate: no-transaction';

export interface MigrateOptions {
  /** How long to wait for the migration lock and for each table lock; default MIGRATION_LOCK_TIMEOUT_MS's 60 s. */
  lockTimeoutMs?: number;
  /** Each migration statement's server-side timeout; 0 (the default): none. */
  statementTimeoutMs?: number;
  /** Connecting; default 10 s. */
  connectTimeoutMs?: number;
  /** The folder of .sql files; default db/migrations. */
  dir?: string;
  /** Progress lines (waiting for the lock, each file applied); default stderr. */
  log?: (line: string) => void;
  /** How often a line says it is still waiting for the lock; default 5 s. */
  progressEveryMs?: number;
  /** The application's role (DATABASE_URL's user): granted read and write on the tables after the run. */
  appRole?: string;
}

interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
  noTransaction: boolean;
}

/**
 * Applies the migrations not yet applied, in name order, on a connection of its
 * own: from the pool's connection settings (its timeouts are not used) or a
 * database URL. Returns the names of the files it applied.
 */
export async function migrate(database: Pool | string, options: MigrateOptions = {}): Promise<string[]> {
  const lockTimeoutMs = options.lockTimeoutMs ?? DATABASE_SESSION_DEFAULTS.migrationLockTimeoutMs;
  const statementTimeoutMs = options.statementTimeoutMs ?? DATABASE_SESSION_DEFAULTS.migrationStatementTimeoutMs;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const dir = options.dir ?? MIGRATIONS_DIR;
  const files = await readMigrations(dir);

  const client = new pg.Client({
    ...connectionOf(database),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'checkout-migrate',
  });
  // a connection that dies makes the running query fail; without a listener it would crash the process
  client.on('error', () => undefined);
  await client.connect();
  try {
    // this session's own timeouts, whatever the database's or the URL's defaults
    await client.query(
      `SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false),
              set_config('idle_in_transaction_session_timeout', '0', false)`,
      [String(statementTimeoutMs), String(lockTimeoutMs)],
    );
    await takeMigrationLock(client, lockTimeoutMs, options.progressEveryMs ?? 5_000, log);
    const recorded = await recordedChecksums(client, files, log);
    checkUnchanged(files, recorded, dir);

    const applied: string[] = [];
    for (const file of files) {
      if (recorded.has(file.name)) continue;
      const started = Date.now();
      log(`migrate: applying ${file.name}${file.noTransaction ? ' (no transaction)' : ''}`);
      if (file.noTransaction) await applyWithoutTransaction(client, file, log);
      else await applyInTransaction(client, file);
      applied.push(file.name);
      log(`migrate: applied ${file.name} (${Date.now() - started} ms)`);
    }
    // still under the lock: concurrent GRANTs on one table can fail ("tuple concurrently updated")
    if (options.appRole !== undefined) await grantToApplication(client, options.appRole, log);
    return applied;
  } catch (err) {
    throw await withOwnerHint(client, err);
  } finally {
    // ending the session releases the advisory lock too
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/**
 * The role to grant the application's privileges to: DATABASE_URL's user, when
 * migrations run as another (DATABASE_MIGRATION_URL); undefined when both are one.
 */
export function applicationRoleOf(databaseUrl: string, migrationUrl: string): string | undefined {
  const user = (url: string) => decodeURIComponent(new URL(url).username);
  const app = user(databaseUrl);
  return app !== '' && app !== user(migrationUrl) ? app : undefined;
}

/**
 * Grants the application's role what it lacks: SELECT, INSERT, UPDATE, DELETE
 * on each table and view of the migrations' schema, SELECT on schema_migrations
 * (to see that nothing is left to apply), USAGE and SELECT on each sequence
 * (bigserial ids), EXECUTE on each function (the ledger's checks). Never
 * TRUNCATE, REFERENCES or TRIGGER, and no ownership: the append-only triggers
 * bind it, and it cannot alter, disable or drop them.
 *
 * A step at the end of every run rather than ALTER DEFAULT PRIVILEGES: default
 * privileges cover only objects created later, by the role that set them, so
 * tables made before, or by another role (a DBA's manual fix, a superuser
 * migrating), would be missed without a sound; this covers whatever exists,
 * whoever made it, and is checked again at every start. It grants only what is
 * missing, so an up-to-date database sees no catalog writes.
 */
async function grantToApplication(client: pg.Client, role: string, log: (line: string) => void): Promise<void> {
  const found = await client.query<{ superuser: boolean }>('SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = $1', [role]);
  if (found.rowCount === 0) {
    throw new Error(`migrate: the application's role "${role}" (the user of DATABASE_URL) does not exist; create it (LOGIN NOSUPERUSER) before starting (docs/runbook.md, "Database roles")`);
  }
  if (found.rows[0]?.superuser) log(`migrate: warning: the application's role "${role}" is a superuser, so the ledger's triggers do not bind it (ALTER ROLE ... NOSUPERUSER)`);
  const missing = (
    await client.query<{ kind: 'TABLE' | 'SEQUENCE' | 'FUNCTION'; name: string; privileges: string }>(
      `SELECT 'TABLE' AS kind, format('%I.%I', n.nspname, c.relname) AS name,
              CASE WHEN c.relname = 'schema_migrations' THEN 'SELECT' ELSE 'SELECT, INSERT, UPDATE, DELETE' END AS privileges
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v')
          AND NOT (CASE WHEN c.relname = 'schema_migrations' THEN has_table_privilege($1::name, c.oid, 'SELECT')
                        ELSE has_table_privilege($1::name, c.oid, 'SELECT') AND has_table_privilege($1::name, c.oid, 'INSERT')
                             AND has_table_privilege($1::name, c.oid, 'UPDATE') AND has_table_privilege($1::name, c.oid, 'DELETE') END)
       UNION ALL
       SELECT 'SEQUENCE', format('%I.%I', n.nspname, c.relname), 'USAGE, SELECT'
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'S'
          AND NOT (has_sequence_privilege($1::name, c.oid, 'USAGE') AND has_sequence_privilege($1::name, c.oid, 'SELECT'))
       UNION ALL
       SELECT 'FUNCTION', p.oid::regprocedure::text, 'EXECUTE'
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.prokind = 'f' AND NOT has_function_privilege($1::name, p.oid, 'EXECUTE')
        ORDER BY 1, 2`,
      [role],
    )
  ).rows;
  if (missing.length === 0) return;
  const grantee = `"${role.replace(/"/g, '""')}"`;
  await client.query('BEGIN');
  try {
    for (const m of missing) await client.query(`GRANT ${m.privileges} ON ${m.kind} ${m.name} TO ${grantee}`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new Error(`migrate: granting the application's role "${role}" its privileges failed: ${oneLine(err)}`, { cause: err });
  }
  const count = (kind: string) => missing.filter((m) => m.kind === kind).length;
  log(`migrate: granted "${role}" its privileges on ${count('TABLE')} tables, ${count('SEQUENCE')} sequences, ${count('FUNCTION')} functions`);
}

/** A permission error names the fix: migrations run as the tables' owner. */
async function withOwnerHint(client: pg.Client, err: unknown): Promise<unknown> {
  const code = (e: unknown) => (e as { code?: string } | undefined)?.code;
  if (code(err) !== '42501' && code((err as { cause?: unknown }).cause) !== '42501') return err;
  const user = (await client.query<{ user: string }>('SELECT current_user AS user').catch(() => undefined))?.rows[0]?.user ?? 'unknown';
  const message = `${err instanceof Error ? err.message : String(err)} (connected as "${user}": migrations run as the tables' owner, set DATABASE_MIGRATION_URL)`;
  return new Error(message, { cause: err });
}

/** The connection settings of a URL or a pool, without the pool's timeouts. */
function connectionOf(database: Pool | string): pg.ClientConfig {
  if (typeof database === 'string') return { connectionString: database };
  const { connectionString, host, port, user, password, database: name, ssl } = database.options;
  return { connectionString, host, port, user, password, database: name, ssl };
}

async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await fs.readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await fs.readFile(path.join(dir, name));
      const sql = bytes.toString('utf8');
      return {
        name,
        sql,
        checksum: crypto.createHash('sha256').update(bytes).digest('hex'),
        noTransaction: (sql.split('\n', 1)[0] ?? '').trim() === NO_TRANSACTION_MARKER,
      };
    }),
  );
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the session-level advisory lock, polling with pg_try_advisory_lock (a
 * blocking pg_advisory_lock would leave a statement waiting in Postgres if this
 * process gave up), with a progress line every progressEveryMs and a one-line
 * error naming the holder after lockTimeoutMs.
 */
async function takeMigrationLock(client: pg.Client, lockTimeoutMs: number, progressEveryMs: number, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  let nextProgressAt = 0;
  let waited = false;
  for (;;) {
    const got = (await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [MIGRATION_LOCK_ID])).rows[0]?.got;
    const elapsed = Date.now() - started;
    if (got) {
      if (waited) log(`migrate: got the migration lock after ${seconds(elapsed)}`);
      return;
    }
    waited = true;
    if (elapsed >= lockTimeoutMs) {
      throw new Error(
        `migrate: gave up after ${seconds(lockTimeoutMs)} waiting for the migration lock, held by ${await lockHolder(client)} (MIGRATION_LOCK_TIMEOUT_MS)`,
      );
    }
    if (elapsed >= nextProgressAt) {
      log(`migrate: waiting for the migration lock, held by ${await lockHolder(client)}, for ${seconds(elapsed)} (gives up after ${seconds(lockTimeoutMs)})`);
      nextProgressAt += progressEveryMs;
    }
    await sleep(Math.min(250, lockTimeoutMs - elapsed));
  }
}

/** Who holds the migration lock in this database, in words. */
async function lockHolder(client: pg.Client): Promise<string> {
  // a bigint advisory key is classid (high 32 bits), objid (low 32 bits), objsubid 1
  const row = (
    await client.query<{ pid: number; application_name: string; state: string | null; connected_s: number }>(
      `SELECT a.pid, a.application_name, a.state, extract(epoch FROM now() - a.backend_start)::int AS connected_s
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1::bigint::oid AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        LIMIT 1`,
      [MIGRATION_LOCK_ID],
    )
  ).rows[0];
  if (!row) return 'another session (gone now)';
  return `pid ${row.pid} (application "${row.application_name}", ${row.state ?? 'state unknown'}, connected ${row.connected_s} s ago)`;
}

/**
 * The applied migrations and their checksums, after creating schema_migrations
 * or adding its checksum column (a database migrated before checksums were
 * kept), and filling in the checksums of applied files that have none.
 */
async function recordedChecksums(client: pg.Client, files: MigrationFile[], log: (line: string) => void): Promise<Map<string, string>> {
  // looked up first: CREATE TABLE IF NOT EXISTS needs CREATE on the schema even when the table exists
  const exists = (await client.query<{ found: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS found`)).rows[0]?.found;
  if (!exists) {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), checksum text)');
  }
  const hasChecksum = await client.query(
    `SELECT 1 FROM pg_attribute WHERE attrelid = 'schema_migrations'::regclass AND attname = 'checksum' AND NOT attisdropped`,
  );
  // nullable: a process of the previous version, still running during a deploy, inserts names only
  if (hasChecksum.rowCount === 0) await client.query('ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text');

  const rows = (await client.query<{ name: string; checksum: string | null }>('SELECT name, checksum FROM schema_migrations')).rows;
  const byName = new Map(files.map((f) => [f.name, f]));
  const recorded = new Map<string, string>();
  const filled: string[] = [];
  for (const row of rows) {
    const file = byName.get(row.name);
    // a row without a file: applied by a newer version of this code; not ours to judge
    if (!file) continue;
    if (row.checksum === null) {
      await client.query('UPDATE schema_migrations SET checksum = $2 WHERE name = $1 AND checksum IS NULL', [row.name, file.checksum]);
      filled.push(row.name);
      recorded.set(row.name, file.checksum);
    } else {
      recorded.set(row.name, row.checksum);
    }
  }
  if (filled.length > 0) log(`migrate: recorded the checksums of ${filled.length} migrations applied before checksums were kept`);
  return recorded;
}

function checkUnchanged(files: MigrationFile[], recorded: Map<string, string>, dir: string): void {
  const changed = files.filter((f) => recorded.has(f.name) && recorded.get(f.name) !== f.checksum);
  if (changed.length === 0) return;
  const names = changed.map((f) => f.name).join(', ');
  throw new Error(
    `${changed.length === 1 ? 'migration' : 'migrations'} ${names} ${changed.length === 1 ? 'has' : 'have'} changed since ${changed.length === 1 ? 'it was' : 'they were'} applied ` +
      `(sha256 in schema_migrations differs from the file in ${dir}); applied migrations must not change: restore the file and add a new migration`,
  );
}

async function applyInTransaction(client: pg.Client, file: MigrationFile): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(file.sql);
    await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const hint =
      (err as { code?: string }).code === '25001' ? `; a statement that cannot run in a transaction needs "${NO_TRANSACTION_MARKER}" as the file's first line` : '';
    throw migrationFailed(file, `${oneLine(err)}${hint}`, err);
  }
}

async function applyWithoutTransaction(client: pg.Client, file: MigrationFile, log: (line: string) => void): Promise<void> {
  const statements = splitStatements(file.sql);
  // refused before anything runs: after a failure the file runs again from its first statement
  statements.forEach((statement, i) => {
    if (/^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b/i.test(statement) && !concurrentIndexOf(statement)) {
      throw migrationFailed(file, `statement ${i + 1}: CREATE INDEX CONCURRENTLY must name the index and say IF NOT EXISTS (a no-transaction migration may run twice)`);
    }
  });
  for (const [i, statement] of statements.entries()) {
    const index = concurrentIndexOf(statement);
    try {
      if (index) await dropInvalidIndex(client, file, index, log);
      await client.query(statement);
    } catch (err) {
      throw migrationFailed(file, `statement ${i + 1} of ${statements.length}: ${oneLine(err)}`, err);
    }
  }
  await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
}

function migrationFailed(file: MigrationFile, why: string, cause?: unknown): Error {
  return new Error(`migration ${file.name} failed: ${why}`, { cause });
}

const oneLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const CONCURRENT_INDEX = new RegExp(
  String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(${IDENT})\s+ON\s+(?:ONLY\s+)?(${IDENT}(?:\s*\.\s*${IDENT})?)`,
  'i',
);

/** The index name and table of a `CREATE INDEX CONCURRENTLY IF NOT EXISTS name ON table`, else undefined. */
function concurrentIndexOf(statement: string): { name: string; table: string } | undefined {
  const match = CONCURRENT_INDEX.exec(statement);
  if (!match) return undefined;
  const raw = match[1] as string;
  const name = raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase();
  return { name, table: (match[2] as string).replace(/\s+/g, '') };
}

/** An INVALID index under this name (an interrupted concurrent build) is dropped, so the statement builds it again. */
async function dropInvalidIndex(client: pg.Client, file: MigrationFile, index: { name: string; table: string }, log: (line: string) => void): Promise<void> {
  const row = (
    await client.query<{ qualified: string; valid: boolean }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS qualified, i.indisvalid AS valid
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = $1 AND i.indrelid = to_regclass($2)`,
      [index.name, index.table],
    )
  ).rows[0];
  if (!row || row.valid) return;
  log(`migrate: ${file.name}: dropping the INVALID index ${index.name} an interrupted CREATE INDEX CONCURRENTLY left, to build it again`);
  await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${row.qualified}`);
}

/**
 * The statements of a SQL text, split on the `;` between them (not in quotes,
 * comments or dollar-quoted bodies), each without its leading comments; empty
 * and comment-only ones are dropped.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = -1; // where the current statement's first code character is
  let i = 0;
  const identChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_$]/.test(c);
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        const two = sql.slice(i, i + 2);
        depth += two === '/*' ? 1 : two === '*/' ? -1 : 0;
        i += two === '/*' || two === '*/' ? 2 : 1;
      }
      continue;
    }
    if (c === ';') {
      if (start !== -1) statements.push(sql.slice(start, i).trim());
      start = -1;
      i += 1;
      continue;
    }
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (start === -1) start = i;
    if (c === "'" || c === '"') {
      // E'…' strings escape with backslashes too
      const backslashes = c === "'" && /[Ee]/.test(sql[i - 1] ?? '') && !identChar(sql[i - 2]);
      i += 1;
      while (i < sql.length) {
        if (backslashes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i += 1;
      }
      i += 1;
      continue;
    }
    if (c === '$' && !identChar(sql[i - 1])) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end === -1 ? sql.length : end + tag.length;
        continue;
      }
    }
    i += 1;
  }
  if (start !== -1) statements.push(sql.slice(start).trim());
  return statements;
}
