// db/migrate.ts against the real embedded Postgres, each test on a database of
// its own: migrations run on a connection of their own (not bound by the
// pool's 5 s timeouts), wait for the advisory lock with progress lines and a
// clear give-up, build indexes concurrently outside a transaction (recovering
// an INVALID index an interrupted build left), refuse to start when an applied
// file changed, and `npm run migrate` takes the same path.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { migrate, NO_TRANSACTION_MARKER, splitStatements } from '../../db/migrate';
import { createPool } from '../../db/pool';

const REPO = path.join(__dirname, '..', '..');
const REAL_MIGRATIONS = path.join(REPO, 'db', 'migrations');
// db/migrate.ts's advisory lock key
const MIGRATION_LOCK_ID = 727_001;

let admin: pg.Client;
const databases: string[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  admin = new pg.Client({ connectionString: inject('databaseOwnerUrl') }); // CREATE DATABASE: the owner
  await admin.connect();
});

afterAll(async () => {
  for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err: unknown) => console.error(err));
  await admin?.end();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new, empty database on the test server; its URL. */
async function freshDatabase(): Promise<string> {
  const name = `migtest_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  databases.push(name);
  const url = new URL(inject('databaseOwnerUrl'));
  url.pathname = `/${name}`;
  return url.toString();
}

/** A migrations folder holding these files. */
function migrationsDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-migrations-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const realFiles = () => fs.readdirSync(REAL_MIGRATIONS).filter((f) => f.endsWith('.sql')).sort();
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function recorded(url: string): Promise<Array<{ name: string; checksum: string | null }>> {
  return withClient(url, async (c) => (await c.query<{ name: string; checksum: string | null }>('SELECT name, checksum FROM schema_migrations ORDER BY name')).rows);
}

async function indexValid(url: string, name: string): Promise<boolean | undefined> {
  return withClient(url, async (c) => {
    const row = (
      await c.query<{ valid: boolean }>('SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1', [name])
    ).rows[0];
    return row?.valid;
  });
}

describe('migrations run on a connection of their own', () => {
  it('wait for the advisory lock past the pool’s 5 s timeout, with progress lines, then apply', async () => {
    const url = await freshDatabase();
    const pool = createPool(url, 2);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      // another migrator (a second api or worker starting) holds the lock for 6 s
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      const released = new Promise<void>((resolve) => setTimeout(() => resolve(holder.query('SELECT pg_advisory_unlock_all()').then(() => undefined)), 6_000));
      const lines: string[] = [];
      const started = Date.now();
      const applied = await migrate(pool, { log: (line) => lines.push(line), progressEveryMs: 1_000 });
      await released;
      expect(Date.now() - started).toBeGreaterThan(5_500);
      expect(applied).toEqual(realFiles());
      expect(lines.filter((l) => /waiting for the migration lock/.test(l)).length).toBeGreaterThanOrEqual(3);
      expect(lines.some((l) => l.includes(`pid ${(holder as unknown as { processID: number }).processID}`))).toBe(true);
    } finally {
      await holder.end();
      await pool.end();
    }
  });

  it('give up after the lock timeout with one line naming who holds the lock', async () => {
    const url = await freshDatabase();
    const holder = new pg.Client({ connectionString: url, application_name: 'someone-else' });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      const started = Date.now();
      const error = await migrate(url, { lockTimeoutMs: 1_500, log: () => undefined }).catch((err: unknown) => err as Error);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/gave up after 1\.5 s waiting for the migration lock/);
      expect((error as Error).message).toMatch(/someone-else/);
      expect((error as Error).message).not.toMatch(/\n/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await holder.end();
    }
  });

  it('a statement longer than the pool’s 5 s timeouts (a big CREATE INDEX) runs to its end', async () => {
    const url = await freshDatabase();
    const pool = createPool(url, 1);
    try {
      const dir = migrationsDir({ '001_slow.sql': 'SELECT pg_sleep(6);\nCREATE TABLE slow_done (id int);\n' });
      expect(await migrate(pool, { dir, log: () => undefined })).toEqual(['001_slow.sql']);
      expect((await pool.query("SELECT to_regclass('slow_done') IS NOT NULL AS there")).rows[0]).toEqual({ there: true });
    } finally {
      await pool.end();
    }
  });
});

describe('checksums of applied migrations', () => {
  it('are recorded, and a changed applied file stops the migration with one line naming it (nothing else applied)', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({
      '001_a.sql': 'CREATE TABLE a (id int);\n',
      '002_b.sql': 'CREATE TABLE b (id int);\n',
    });
    expect(await migrate(url, { dir, log: () => undefined })).toEqual(['001_a.sql', '002_b.sql']);
    expect(await recorded(url)).toEqual([
      { name: '001_a.sql', checksum: sha256(path.join(dir, '001_a.sql')) },
      { name: '002_b.sql', checksum: sha256(path.join(dir, '002_b.sql')) },
    ]);
    // unchanged: nothing to do
    expect(await migrate(url, { dir, log: () => undefined })).toEqual([]);

    // someone edits an applied migration and adds a new one
    fs.writeFileSync(path.join(dir, '002_b.sql'), 'CREATE TABLE b (id bigint);\n');
    fs.writeFileSync(path.join(dir, '003_c.sql'), 'CREATE TABLE c (id int);\n');
    const error = await migrate(url, { dir, log: () => undefined }).catch((err: unknown) => err as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^migration 002_b\.sql has changed since it was applied/);
    expect((error as Error).message).not.toMatch(/\n/);
    expect((await recorded(url)).map((r) => r.name)).toEqual(['001_a.sql', '002_b.sql']);
  });

  it('are filled in for a database migrated before checksums were kept, on the first run of the new code', async () => {
    const url = await freshDatabase();
    // what the previous db/migrate.ts left: schema_migrations without a checksum column
    await withClient(url, async (c) => {
      await c.query('CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const file of realFiles()) {
        const sql = fs.readFileSync(path.join(REAL_MIGRATIONS, file), 'utf8');
        // a no-transaction file (CREATE INDEX CONCURRENTLY) statement by statement, as migrate runs it
        const statements = sql.startsWith(NO_TRANSACTION_MARKER) ? splitStatements(sql) : ['BEGIN', sql];
        for (const statement of statements) await c.query(statement);
        await c.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        if (statements[0] === 'BEGIN') await c.query('COMMIT');
      }
    });
    const pool = createPool(url, 1);
    try {
      expect(await migrate(pool, { log: () => undefined })).toEqual([]);
    } finally {
      await pool.end();
    }
    expect(await recorded(url)).toEqual(realFiles().map((name) => ({ name, checksum: sha256(path.join(REAL_MIGRATIONS, name)) })));
  });
});

describe('no-transaction migrations (-- migrate: no-transaction)', () => {
  it('build indexes concurrently statement by statement, and rebuild an INVALID index an interrupted build left', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({
      '001_items.sql': [
        'CREATE TABLE items (id int PRIMARY KEY, code text NOT NULL);',
        "INSERT INTO items SELECT g, 'c' || g FROM generate_series(1, 2000) g;",
        "INSERT INTO items VALUES (2001, 'c1'); -- a duplicate code: the unique build below fails",
        '',
      ].join('\n'),
      '002_items_code.sql': [
        '-- migrate: no-transaction',
        '-- built without blocking writes; a comment with a ; in it',
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_code_idx ON items (code);',
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_id_code_idx ON items (id, (code || ';'));",
        '',
      ].join('\n'),
    });
    const failed = await migrate(url, { dir, log: () => undefined }).catch((err: unknown) => err as Error);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/002_items_code\.sql/);
    // the failed concurrent build left an INVALID index behind, and 002 is not recorded
    expect(await indexValid(url, 'items_code_idx')).toBe(false);
    expect((await recorded(url)).map((r) => r.name)).toEqual(['001_items.sql']);

    await withClient(url, (c) => c.query('DELETE FROM items WHERE id = 2001'));
    const lines: string[] = [];
    expect(await migrate(url, { dir, log: (line) => lines.push(line) })).toEqual(['002_items_code.sql']);
    expect(await indexValid(url, 'items_code_idx')).toBe(true);
    expect(await indexValid(url, 'items_id_code_idx')).toBe(true);
    expect(lines.some((l) => /INVALID index items_code_idx/.test(l))).toBe(true);
    expect((await recorded(url)).map((r) => r.name)).toEqual(['001_items.sql', '002_items_code.sql']);
  });

  it('refuse a CREATE INDEX CONCURRENTLY without IF NOT EXISTS before running any of the file (a rerun must be safe)', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({
      '001_t.sql': 'CREATE TABLE t (id int);\n',
      '002_t_idx.sql': '-- migrate: no-transaction\nCREATE TABLE t2 (id int);\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n',
    });
    const error = await migrate(url, { dir, log: () => undefined }).catch((err: unknown) => err as Error);
    expect((error as Error).message).toMatch(/002_t_idx\.sql.*IF NOT EXISTS/);
    expect(await withClient(url, async (c) => (await c.query("SELECT to_regclass('t2') IS NULL AS absent")).rows[0])).toEqual({ absent: true });
  });

  it('a CONCURRENTLY in a transactional migration fails with a hint to add the marker', async () => {
    const url = await freshDatabase();
    const dir = migrationsDir({ '001_t.sql': 'CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_id_idx ON t (id);\n' });
    const error = await migrate(url, { dir, log: () => undefined }).catch((err: unknown) => err as Error);
    expect((error as Error).message).toMatch(/001_t\.sql.*-- migrate: no-transaction/);
  });
});

describe('npm run migrate', () => {
  it('applies through the same path, prints each file it applied, then says the database is up to date', async () => {
    const url = await freshDatabase();
    const run = () =>
      promisify(execFile)(path.join(REPO, 'node_modules', '.bin', 'tsx'), [path.join(REPO, 'scripts', 'migrate.ts')], {
        cwd: REPO,
        env: { ...process.env, DATABASE_URL: url },
        timeout: 60_000,
      });
    const first = await run();
    for (const file of realFiles()) expect(first.stdout).toMatch(new RegExp(`^migrate: applied ${file.replace('.', '\\.')} `, 'm'));
    expect(await recorded(url)).toEqual(realFiles().map((name) => ({ name, checksum: sha256(path.join(REAL_MIGRATIONS, name)) })));
    const second = await run();
    expect(second.stdout).toMatch(/^migrate: the database is up to date/m);
  });
});
