// The application connects to Postgres as a role that reads and writes the
// tables but owns none of them and is no superuser (DATABASE_URL); migrations
// run as the owner (DATABASE_MIGRATION_URL) and end by granting that role its
// privileges. So the ledger's append-only triggers bind the application too:
// it cannot update or delete a posting, nor disable, drop or get around the
// triggers. Against the real embedded Postgres of global-setup, whose
// bootstrap made the role (stack/embedded-postgres.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { EMBEDDED_DB, loadApiConfig, loadWorkerConfig } from '../../config';
import { applicationRoleOf, migrate } from '../../db/migrate';

let app: pg.Client;
let owner: pg.Client;
const databases: string[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  app = new pg.Client({ connectionString: inject('databaseUrl') });
  owner = new pg.Client({ connectionString: inject('databaseOwnerUrl') });
  await app.connect();
  await owner.connect();
});

afterAll(async () => {
  for (const name of databases) await owner.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err: unknown) => console.error(err));
  await app?.end();
  await owner?.end();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const id = (label: string) => `${label}_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;

/** The error a statement of the application's role fails with, as one line (undefined: it did not fail). */
async function refusal(sql: string, params: unknown[] = []): Promise<string | undefined> {
  await app.query('BEGIN');
  try {
    await app.query(sql, params);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await app.query('ROLLBACK');
  }
}

/** A payment and a balanced posting on it, written by the application's role; the posting's transaction id. */
async function paymentWithPosting(): Promise<{ paymentId: string; transactionId: string }> {
  const paymentId = id('pay_approle');
  await app.query('BEGIN');
  try {
    // payments carry their merchant once merchants exist (010_merchants.sql)
    const merchantColumn = await app.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'payments' AND column_name = 'merchant_id'`);
    const merchantId = merchantColumn.rowCount === 1 ? id('mer_approle') : undefined;
    if (merchantId) await app.query(`INSERT INTO merchants (id, name) VALUES ($1, 'app-role test')`, [merchantId]);
    await app.query(
      `INSERT INTO payments (payment_id, idempotency_key, workflow_id, fingerprint, customer_id, amount_cents, currency, payment_method_id${merchantId ? ', merchant_id' : ''})
       VALUES ($1, $1, $1, 'fp', 'cust_approle', 1000, 'EUR', 'pm_card_visa'${merchantId ? ', $2' : ''})`,
      merchantId ? [paymentId, merchantId] : [paymentId],
    );
    const tx = await app.query<{ id: string }>(
      `INSERT INTO ledger_transactions (workflow_id, step, payment_id, description) VALUES ($1, 'charge', $1, 'app-role test') RETURNING id`,
      [paymentId],
    );
    const transactionId = tx.rows[0]?.id as string;
    await app.query(
      `INSERT INTO ledger_entries (transaction_id, account_code, direction, amount_cents, currency)
       VALUES ($1, 'provider_clearing', 'debit', 1000, 'EUR'), ($1, 'merchant_payable', 'credit', 1000, 'EUR')`,
      [transactionId],
    );
    await app.query('COMMIT');
    return { paymentId, transactionId };
  } catch (err) {
    await app.query('ROLLBACK');
    throw err;
  }
}

describe("the application's database role", () => {
  it('is who DATABASE_URL logs in as: no superuser, cannot create roles or databases, owns no table', async () => {
    const me = (
      await app.query<{ name: string; rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolreplication: boolean; rolbypassrls: boolean }>(
        `SELECT rolname AS name, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = current_user`,
      )
    ).rows[0];
    expect(me).toEqual({ name: EMBEDDED_DB.appUser, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false, rolbypassrls: false });
    const owned = await app.query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user`);
    expect(owned.rows).toEqual([]);
    const ledgerOwner = await app.query<{ owner: string }>(`SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'ledger_entries'`);
    expect(ledgerOwner.rows[0]?.owner).toBe(EMBEDDED_DB.user);
  });

  it('inserts a payment and a balanced posting, and updates the payment', async () => {
    const { paymentId } = await paymentWithPosting();
    const updated = await app.query(`UPDATE payments SET status = 'completed', updated_at = now() WHERE payment_id = $1`, [paymentId]);
    expect(updated.rowCount).toBe(1);
    const entries = await app.query('SELECT count(*)::int AS n FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id WHERE t.payment_id = $1', [
      paymentId,
    ]);
    expect(entries.rows[0].n).toBe(2);
  });

  it("is bound by the ledger's append-only triggers: no UPDATE or DELETE of a posting", async () => {
    const { transactionId } = await paymentWithPosting();
    expect(await refusal('UPDATE ledger_entries SET amount_cents = 1 WHERE transaction_id = $1', [transactionId])).toMatch(/append-only \(UPDATE on ledger_entries\)/);
    expect(await refusal('DELETE FROM ledger_entries WHERE transaction_id = $1', [transactionId])).toMatch(/append-only \(DELETE on ledger_entries\)/);
    expect(await refusal('UPDATE ledger_transactions SET description = $2 WHERE id = $1', [transactionId, 'rewritten'])).toMatch(/append-only/);
    expect(await refusal('DELETE FROM ledger_transactions WHERE id = $1', [transactionId])).toMatch(/append-only/);
  });

  it('cannot get around the triggers: no ALTER TABLE, DROP TRIGGER, TRUNCATE, replica mode, new function or table', async () => {
    const attempts: Record<string, [string, RegExp]> = {
      'disable the trigger': ['ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only', /must be owner of table ledger_entries/],
      'disable every trigger': ['ALTER TABLE ledger_entries DISABLE TRIGGER ALL', /must be owner of table ledger_entries/],
      'alter a column': ['ALTER TABLE ledger_entries ALTER COLUMN amount_cents DROP NOT NULL', /must be owner of table ledger_entries/],
      'drop the trigger': ['DROP TRIGGER ledger_entries_append_only ON ledger_entries', /must be owner of (relation|table) ledger_entries/],
      'replace the trigger function': [
        `CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$`,
        // CREATE on the schema is checked first
        /permission denied for schema public|must be owner of function ledger_refuse_change/,
      ],
      // TRUNCATE fires no row trigger: the missing privilege is what stops it
      'truncate the ledger': ['TRUNCATE ledger_entries, ledger_transactions', /permission denied for table ledger_(entries|transactions)/],
      'skip triggers as a replica': ['SET session_replication_role = replica', /permission denied to set parameter "session_replication_role"/],
      'create a table': ['CREATE TABLE approle_probe (id int)', /permission denied for schema public/],
      'drop a table': ['DROP TABLE ledger_entries', /must be owner of table ledger_entries/],
      'write the migrations record': [`INSERT INTO schema_migrations (name) VALUES ('999_mine.sql')`, /permission denied for table schema_migrations/],
    };
    for (const [what, [sql, expected]] of Object.entries(attempts)) expect(await refusal(sql), what).toMatch(expected);
  });
});

describe('migrate grants the application role what exists, at the end of every run', () => {
  /** A new, empty database made by the owner; its URL as the owner and as the application's role. */
  async function freshDatabase(): Promise<{ ownerUrl: string; appUrl: string }> {
    const name = id('approle');
    await owner.query(`CREATE DATABASE ${name}`);
    databases.push(name);
    const at = (url: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();
    return { ownerUrl: at(inject('databaseOwnerUrl')), appUrl: at(inject('databaseUrl')) };
  }

  function migrationsDir(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-approle-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  }

  async function asApp<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  }

  it('covers tables from migrations and a table made outside them, sequences too; schema_migrations read-only', async () => {
    const { ownerUrl, appUrl } = await freshDatabase();
    const appRole = applicationRoleOf(appUrl, ownerUrl);
    expect(appRole).toBe(EMBEDDED_DB.appUser);
    const dir = migrationsDir({ '001_a.sql': 'CREATE TABLE a (id bigserial PRIMARY KEY, note text);\n' });
    expect(await migrate(ownerUrl, { dir, appRole, log: () => undefined })).toEqual(['001_a.sql']);
    await asApp(appUrl, async (c) => {
      await c.query(`INSERT INTO a (note) VALUES ('x')`); // the sequence's USAGE too
      await c.query(`UPDATE a SET note = 'y'`);
      await c.query('DELETE FROM a');
      expect((await c.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n).toBe(1);
      await expect(c.query(`INSERT INTO schema_migrations (name) VALUES ('002_x.sql')`)).rejects.toThrow(/permission denied/);
    });

    // a table the owner made by hand: nothing until the next run of migrate, which needs no new file
    await asApp(ownerUrl, (c) => c.query('CREATE TABLE b (id bigserial PRIMARY KEY)'));
    await asApp(appUrl, (c) => expect(c.query('INSERT INTO b DEFAULT VALUES')).rejects.toThrow(/permission denied for table b/));
    const lines: string[] = [];
    expect(await migrate(ownerUrl, { dir, appRole, log: (line) => lines.push(line) })).toEqual([]);
    expect(lines).toEqual([`migrate: granted "${appRole}" its privileges on 1 tables, 1 sequences, 0 functions`]);
    await asApp(appUrl, (c) => c.query('INSERT INTO b DEFAULT VALUES'));

    // nothing missing: no GRANT at all
    lines.length = 0;
    await migrate(ownerUrl, { dir, appRole, log: (line) => lines.push(line) });
    expect(lines).toEqual([]);
  });

  it('as the application role: an up-to-date database passes, a pending file fails naming DATABASE_MIGRATION_URL', async () => {
    // what a test file's migrate(pool), or a process without DATABASE_MIGRATION_URL, does on the shared database
    expect(await migrate(inject('databaseUrl'), { log: () => undefined })).toEqual([]);

    const { appUrl } = await freshDatabase();
    const dir = migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);\n' });
    const error = await migrate(appUrl, { dir, log: () => undefined }).catch((err: unknown) => err as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/permission denied for schema public/);
    expect((error as Error).message).toMatch(new RegExp(`connected as "${EMBEDDED_DB.appUser}".*DATABASE_MIGRATION_URL`));
  });
});

describe('DATABASE_URL and DATABASE_MIGRATION_URL', () => {
  const user = (url: string) => new URL(url).username;

  it('embedded by default: the application role for the processes, the owner for migrations', () => {
    for (const config of [loadApiConfig({}), loadWorkerConfig({})]) {
      expect(user(config.database.url)).toBe(EMBEDDED_DB.appUser);
      expect(user(config.database.migrationUrl)).toBe(EMBEDDED_DB.user);
      expect(applicationRoleOf(config.database.url, config.database.migrationUrl)).toBe(EMBEDDED_DB.appUser);
    }
  });

  it('DATABASE_URL alone migrates over DATABASE_URL too (as before), and grants nothing', () => {
    const { database } = loadWorkerConfig({ DATABASE_URL: 'postgres://u:p@db.internal:5432/pay' });
    expect(database).toMatchObject({ url: 'postgres://u:p@db.internal:5432/pay', migrationUrl: 'postgres://u:p@db.internal:5432/pay', embedded: false });
    expect(applicationRoleOf(database.url, database.migrationUrl)).toBeUndefined();
  });

  it('both set: each as given', () => {
    const { database } = loadApiConfig({ DATABASE_URL: 'postgres://app:a@db:5432/pay', DATABASE_MIGRATION_URL: 'postgres://owner:o@db:5432/pay' });
    expect(database).toMatchObject({ url: 'postgres://app:a@db:5432/pay', migrationUrl: 'postgres://owner:o@db:5432/pay' });
    expect(applicationRoleOf(database.url, database.migrationUrl)).toBe('app');
  });
});
