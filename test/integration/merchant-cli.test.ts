// `npm run merchant`, run as an operator runs it (a child process) against the
// test database: a merchant, a key shown once, listed by prefix only, stored
// only as a hash, revoked; and bad input refused with exit 2, changing nothing.
import { runScript, type ScriptRun } from '../support/run-script';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashApiKey, prefixOf } from '../../accounts/api-key';
import { authenticate } from '../../accounts/authenticate';
import { createPool, type Pool } from '../../db/pool';
import { freePort } from '../../stack/free-port';

const PEPPER = crypto.randomBytes(32).toString('base64url');
const KEY = /^sk_test_[0-9A-Za-z]{43}$/;

type Run = ScriptRun;

let dataDir: string;
let pool: Pool;

function merchantCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runScript('scripts/merchant.ts', args, {
      ...process.env,
      CHECKOUT_ENV: 'development',
      DATABASE_URL: inject('databaseUrl'),
      DATABASE_MIGRATION_URL: inject('databaseOwnerUrl'),
      API_KEY_PEPPER: PEPPER,
      DATA_DIR: dataDir,
      ...env,
  });
}

/** The command's one result line (stdout), after checking it succeeded. */
function resultOf(run: Run): string {
  expect(run.code, `exit ${run.code}; stderr:\n${run.stderr}`).toBe(0);
  return run.stdout.trim();
}

async function keyCount(): Promise<number> {
  return (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys')).rows[0]?.n ?? -1;
}

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'merchant-cli-'));
  pool = createPool(inject('databaseUrl'), 2);
});

afterAll(async () => {
  await pool?.end();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run merchant', () => {
  it('create → key create (shown once) → key list shows the prefix, not the key → the table holds no key in clear → revoke', async () => {
    const merchantId = resultOf(await merchantCli(['create', 'Acme', 'Shop']));
    expect(merchantId).toMatch(/^mer_[0-9a-f]{16}$/);
    expect((await pool.query('SELECT name FROM merchants WHERE id = $1', [merchantId])).rows).toEqual([{ name: 'Acme Shop' }]);

    const created = await merchantCli(['key', 'create', merchantId, '--label', 'web shop']);
    const key = resultOf(created);
    expect(key).toMatch(KEY);
    expect(created.stderr).toMatch(/shown this once and cannot be shown again/);
    expect(created.stderr).not.toContain(key);
    const prefix = prefixOf(key) as string;
    const secretPart = key.slice(prefix.length);

    const listed = await merchantCli(['key', 'list', merchantId]);
    const table = resultOf(listed);
    expect(table).toContain(prefix);
    expect(table).toMatch(/secret\s+web shop/);
    expect(`${listed.stdout}${listed.stderr}`).not.toContain(key);
    expect(`${listed.stdout}${listed.stderr}`).not.toContain(secretPart);

    // the database: only the HMAC under the pepper, and no row of the table, as text, holds the key or its secret part
    const rows = (await pool.query('SELECT * FROM api_keys WHERE merchant_id = $1', [merchantId])).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ prefix, kind: 'secret', label: 'web shop', revoked_at: null, expires_at: null });
    expect(Buffer.compare(rows[0].hash, hashApiKey(key, PEPPER))).toBe(0);
    const inClear = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM api_keys k WHERE strpos(k::text, $1) > 0 OR strpos(k::text, $2) > 0 OR strpos(encode(k.hash, 'escape'), $2) > 0`,
      [key, secretPart],
    );
    expect(inClear.rows[0]?.n).toBe(0);
    expect(table).not.toContain((rows[0].hash as Buffer).toString('hex'));

    // the key works as the api checks it, until it is revoked
    const before = await authenticate(pool, `Bearer ${key}`, PEPPER);
    expect(before).toMatchObject({ ok: true, caller: { merchantId, kind: 'secret' } });
    const revoked = resultOf(await merchantCli(['key', 'revoke', prefix]));
    expect(revoked).toMatch(new RegExp(`^revoked key_[0-9a-f]{16} \\(${prefix}, secret of ${merchantId}\\) at \\d{4}-`));
    expect(await authenticate(pool, `Bearer ${key}`, PEPPER)).toEqual({ ok: false, reason: 'revoked' });
    const after = resultOf(await merchantCli(['key', 'list', merchantId]));
    expect(after.split('\n')[1]).toMatch(/ \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/); // the revoked column is filled
    expect(resultOf(await merchantCli(['list']))).toMatch(new RegExp(`${merchantId}\\s+Acme Shop\\s+\\S+ \\S+\\s+0$`, 'm'));
  }, 120_000);

  it('a restricted key with an expiry, and an admin key (no merchant), listed with --admin', async () => {
    const merchantId = resultOf(await merchantCli(['create', 'Restricted Co']));
    const key = resultOf(await merchantCli(['key', 'create', merchantId, '--kind', 'restricted', '--expires-in', '30d']));
    const row = (await pool.query('SELECT kind, expires_at FROM api_keys WHERE prefix = $1', [prefixOf(key)])).rows[0];
    expect(row.kind).toBe('restricted');
    expect(Math.abs(row.expires_at.getTime() - (Date.now() + 30 * 86_400_000))).toBeLessThan(120_000);

    const admin = resultOf(await merchantCli(['key', 'create', '--admin', '--label', 'ops']));
    expect(admin).toMatch(KEY);
    expect(await authenticate(pool, `Bearer ${admin}`, PEPPER)).toMatchObject({ ok: true, caller: { kind: 'admin', merchantId: null } });
    const admins = resultOf(await merchantCli(['key', 'list', '--admin']));
    expect(admins).toContain(prefixOf(admin));
    expect(admins).not.toContain(admin);
  }, 120_000);

  it('bad input: exit 2 with one clear line (and the usage for a bad command), nothing written', async () => {
    const keysBefore = await keyCount();
    const cases: Array<[string[], RegExp]> = [
      [[], /a command is required[\s\S]*usage: npm run merchant/],
      [['frobnicate'], /unknown command "frobnicate"[\s\S]*usage:/],
      [['key', 'rotate', 'x'], /unknown command "key rotate"[\s\S]*usage:/],
      [['create'], /"create" takes the merchant's name/],
      [['key', 'create', 'mer_nobody'], /no merchant "mer_nobody"/],
      [['key', 'list', 'mer_nobody'], /no merchant "mer_nobody"/],
      [['key', 'create', 'mer_nobody', '--expires-in', '30 days'], /--expires-in must be .* got "30 days"/],
      [['key', 'create', 'mer_nobody', '--expires-in', '0d'], /--expires-in must be/],
      [['key', 'create', 'mer_nobody', '--kind', 'admin'], /an admin key belongs to no merchant/],
      [['key', 'create', 'mer_nobody', '--kind', 'root'], /--kind must be secret or restricted, got "root"/],
      [['key', 'create', '--admin', 'mer_nobody'], /"key create" takes a merchant id, or --admin/],
      [['key', 'create', 'mer_nobody', '--colour', 'red'], /Unknown option '--colour'/],
      [['key', 'revoke', 'sk_test_nothingHere1'], /no key with id or prefix "sk_test_nothingHere1"/],
      [['create', 'bad\u0001name'], /the name must be 1-200 characters without control characters/],
    ];
    // a few at a time: each is a process of its own
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async ([args, message]) => {
          const run = await merchantCli(args);
          expect(run.code, `${args.join(' ')}: exit ${run.code}\n${run.stderr}`).toBe(2);
          expect(run.stderr, args.join(' ')).toMatch(message);
          expect(run.stdout, args.join(' ')).toBe('');
        }),
      );
    }
    expect(await keyCount()).toBe(keysBefore);
  }, 120_000);

  it('a database that is not there: exit 1 and one line saying so, no stack trace', async () => {
    const port = await freePort();
    const url = `postgres://nobody:secret@127.0.0.1:${port}/checkout`;
    const run = await merchantCli(['list'], { DATABASE_URL: url, DATABASE_MIGRATION_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^merchant: cannot reach the database at DATABASE_URL \\(postgres://nobody:\\*\\*\\*@127\\.0\\.0\\.1:${port}/checkout\\)`));
    expect(run.stderr).not.toContain('secret');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
