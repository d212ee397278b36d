// The application's Postgres connections (db/pool.ts) against the real
// embedded Postgres: a transaction whose statement outlives the client's
// timeout never leaves its half-done work on a connection the next
// transaction gets, and Postgres itself enforces statement, lock and
// idle-in-transaction timeouts on every pool connection.
import crypto from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadDatabaseSessionConfig } from '../../config';
import { createPool, inTransaction, type Pool } from '../../db/pool';

const url = inject('databaseOwnerUrl'); // CREATE TABLE of its own: the owner
// a table of this file's own, so nothing else's rows count
const table = `dbconn_${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`;
let admin: Pool;

beforeAll(async () => {
  admin = createPool(url, 2);
  await admin.query(`CREATE TABLE ${table} (run text NOT NULL, owner text NOT NULL)`);
});

afterAll(async () => {
  await admin?.query(`DROP TABLE IF EXISTS ${table}`);
  await admin?.end();
});

const newRun = () => crypto.randomUUID();

async function pidOf(client: pg.PoolClient): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
}

/** Whose writes of this run are committed. */
async function committedOwners(run: string): Promise<string[]> {
  return (await admin.query<{ owner: string }>(`SELECT owner FROM ${table} WHERE run = $1 ORDER BY owner`, [run])).rows.map((r) => r.owner);
}

/** The backend's state ('idle', 'active', 'idle in transaction', …), or undefined once its session has ended. */
async function backendState(pid: number): Promise<string | undefined> {
  return (await admin.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]?.state;
}

/** Waits until the backend no longer runs a statement (its session ended, or it is idle), so its transaction's fate is settled. */
async function untilSettled(pid: number, timeoutMs: number): Promise<string | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = await backendState(pid);
    if (state === undefined || state === 'idle') return state;
    if (Date.now() > until) throw new Error(`backend ${pid} still ${state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// a per-statement client read timeout (pg honours it though its types don't list it)
const withReadTimeout = (text: string, ms: number): pg.QueryConfig & { query_timeout: number } => ({ text, query_timeout: ms });

describe('inTransaction when a statement outlives the client-side timeout', () => {
  it('the rollback times out behind a statement Postgres still runs: that connection is closed, and the next transaction commits only its own writes', async () => {
    // One connection, so a connection handed back would go to the very next
    // transaction. The server-side statement timeout is set above the hold on
    // purpose: it models a statement Postgres keeps running after the client gave up.
    const pool = createPool(url, 1, () => undefined, { queryTimeoutMs: 1_000, statementTimeoutMs: 30_000 });
    try {
      const run = newRun();
      let firstPid = 0;
      const first = inTransaction(pool, async (client) => {
        firstPid = await pidOf(client);
        await client.query(`INSERT INTO ${table} (run, owner) VALUES ($1, 'first')`, [run]);
        await client.query(withReadTimeout('SELECT pg_sleep(6)', 300));
      });
      await expect(first).rejects.toThrow(/Query read timeout/);

      // the next checkout-like transaction on the same one-connection pool
      const secondPid = await inTransaction(pool, async (client) => {
        await client.query(`INSERT INTO ${table} (run, owner) VALUES ($1, 'second')`, [run]);
        return pidOf(client);
      });

      // once the first backend's statement is over, its transaction's fate is settled
      const firstEnd = await untilSettled(firstPid, 20_000);
      expect(await committedOwners(run)).toEqual(['second']);
      expect(secondPid).not.toBe(firstPid);
      expect(firstEnd).toBeUndefined(); // its session was closed, so Postgres rolled it back
      // the pool is healthy: one connection, nobody waiting, not inside a transaction, usable
      expect(pool.totalCount).toBe(1);
      expect(pool.waitingCount).toBe(0);
      expect(await backendState(secondPid)).toBe('idle');
      expect(await inTransaction(pool, async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one)).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('with the default timeouts Postgres cancels the statement itself: the rollback lands and the same connection serves the next transaction clean', async () => {
    const pool = createPool(url, 1);
    try {
      const run = newRun();
      let firstPid = 0;
      const first = inTransaction(pool, async (client) => {
        firstPid = await pidOf(client);
        await client.query(`INSERT INTO ${table} (run, owner) VALUES ($1, 'first')`, [run]);
        // far past the 5 s client timeout and the rollback's own 5 s behind it
        await client.query('SELECT pg_sleep(12)');
      });
      await expect(first).rejects.toThrow();

      const secondPid = await inTransaction(pool, async (client) => {
        await client.query(`INSERT INTO ${table} (run, owner) VALUES ($1, 'second')`, [run]);
        return pidOf(client);
      });
      await untilSettled(firstPid, 20_000);
      expect(await committedOwners(run)).toEqual(['second']);
      // the rollback succeeded, so the connection was fine to keep: no churn
      expect(secondPid).toBe(firstPid);
      expect(await backendState(secondPid)).toBe('idle');
      expect(pool.totalCount).toBe(1);
      expect(pool.waitingCount).toBe(0);
    } finally {
      await pool.end();
    }
  });
});

describe('server-side timeouts on the pool connections', () => {
  it('are in force on every connection: statement 5 s, idle in transaction 10 s, lock 2 s', async () => {
    const pool = createPool(url, 2);
    try {
      const show = async (name: string) => (await pool.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name];
      expect(await show('statement_timeout')).toBe('5s');
      expect(await show('idle_in_transaction_session_timeout')).toBe('10s');
      expect(await show('lock_timeout')).toBe('2s');
      // inside a transaction too
      expect(await inTransaction(pool, async (c) => (await c.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]?.statement_timeout)).toBe(
        '5s',
      );
    } finally {
      await pool.end();
    }
  });

  it('a row lock held elsewhere fails the waiter with lock_not_available after about 2 s, not the 5 s read timeout', async () => {
    const run = newRun();
    await admin.query(`INSERT INTO ${table} (run, owner) VALUES ($1, 'locked')`, [run]);
    const holder = await admin.connect();
    const pool = createPool(url, 1);
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT * FROM ${table} WHERE run = $1 FOR UPDATE`, [run]);
      const started = Date.now();
      const waiter = inTransaction(pool, (c) => c.query(`UPDATE ${table} SET owner = 'waiter' WHERE run = $1`, [run]));
      await expect(waiter).rejects.toMatchObject({ code: '55P03' });
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
      await pool.end();
    }
  });

  it('come from config (DATABASE_STATEMENT_TIMEOUT_MS, …) with those defaults, and a statement timeout above the 5 s client timeout is refused', async () => {
    expect(loadDatabaseSessionConfig({})).toEqual({
      pool: { statementTimeoutMs: 5_000, idleInTransactionTimeoutMs: 10_000, lockTimeoutMs: 2_000 },
      migrations: { lockTimeoutMs: 60_000, statementTimeoutMs: 0 },
    });
    const session = loadDatabaseSessionConfig({
      DATABASE_STATEMENT_TIMEOUT_MS: '1500',
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '7000',
      DATABASE_LOCK_TIMEOUT_MS: '700',
      MIGRATION_LOCK_TIMEOUT_MS: '90000',
      MIGRATION_STATEMENT_TIMEOUT_MS: '600000',
    });
    expect(session.migrations).toEqual({ lockTimeoutMs: 90_000, statementTimeoutMs: 600_000 });
    const pool = createPool(url, 1, () => undefined, session.pool);
    try {
      const row = (
        await pool.query<{ s: string; i: string; l: string }>(
          "SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i, current_setting('lock_timeout') AS l",
        )
      ).rows[0];
      expect(row).toEqual({ s: '1500ms', i: '7s', l: '700ms' });
    } finally {
      await pool.end();
    }
    expect(() => loadDatabaseSessionConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '6000' })).toThrow(/DATABASE_STATEMENT_TIMEOUT_MS/);
    expect(() => loadDatabaseSessionConfig({ MIGRATION_LOCK_TIMEOUT_MS: 'soon' })).toThrow(/MIGRATION_LOCK_TIMEOUT_MS/);
  });
});
