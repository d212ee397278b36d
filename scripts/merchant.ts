// `npm run merchant -- ...`: the operator's merchants and API keys (USAGE
// below). It reads the api's configuration (DATABASE_URL,
// DATABASE_MIGRATION_URL, the embedded Postgres of npm start otherwise, and
// the pepper keys are hashed under: API_KEY_PEPPER, or in development the one
// kept in DATA_DIR), migrates the database first, then does one thing.
//
// Results go to stdout, one per line, so a script can take them
// (`MERCHANT=$(npm run -s merchant -- create Shop)`); warnings and errors go to
// stderr. A key is printed once, at creation: only its hash is stored.
// Exit status: 0 done, 1 the database failed, 2 bad input (usage, unknown
// merchant or key, bad duration).
import { parseArgs } from 'node:util';
import { API_KEY_KINDS, prefixOf, type ApiKeyKind } from '../accounts/api-key';
import { issueApiKey } from '../accounts/issue-key';
import { pepperOf } from '../accounts/pepper';
import { loadApiKeyConfig, loadDatabaseSessionConfig, loadStackConfig, type DatabaseConfig } from '../config';
import { listApiKeys, revokeApiKey, type ApiKeyRow } from '../db/api-keys';
import { findMerchant, insertMerchant, listMerchants } from '../db/merchants';
import { applicationRoleOf, migrate } from '../db/migrate';
import { createPool, type Pool } from '../db/pool';

export const USAGE = `usage: npm run merchant -- <command>

  create <name>                      create a merchant; prints its id
  list                               every merchant: id, name, created, active keys
  key create <merchant_id> [--kind secret|restricted] [--expires-in <duration>] [--label <text>]
                                     issue a key for the merchant; prints it ONCE
  key create --admin [--expires-in <duration>] [--label <text>]
                                     issue an admin key (operator routes, no merchant); prints it ONCE
  key list <merchant_id> | --admin   the keys: id, prefix, kind, label, created, last used, expires, revoked
  key revoke <key_id | prefix>       revoke a key: its next request is refused

  --kind        secret (default): the merchant's full access; restricted: reads only
  --expires-in  e.g. 90m, 12h, 30d, 8w (default: never)
  --label       a note for people, up to 200 characters (e.g. "web shop, prod")

exit status: 0 done, 1 database error, 2 bad input`;

/** Bad input: one line, the usage when it helps, exit 2. */
class InputError extends Error {
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

type Flags = { kind?: string; 'expires-in'?: string; label?: string; admin?: boolean; help?: boolean };

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

async function main(argv: string[], io: Io): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    if (e.message) io.err(`merchant: ${e.message}`);
    if (e.showUsage || !e.message) io.err(`${e.message ? '\n' : ''}${USAGE}`);
    return e.message ? 2 : 0;
  }
  const { database } = loadStackConfig();
  const apiKeys = loadApiKeyConfig();
  let pool: Pool;
  try {
    pool = await openDatabase(database, io);
  } catch (e) {
    io.err(`merchant: ${(e as Error).message}`);
    return 1;
  }
  try {
    await command(pool, { io, pepper: () => pepperOf(apiKeys), keyEnv: apiKeys.keyEnv });
    return 0;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    io.err(`merchant: ${e.message}`);
    return 2;
  } finally {
    await pool.end();
  }
}

interface Context {
  io: Io;
  /** read only when a key is issued: listing and revoking need no pepper */
  pepper: () => string;
  keyEnv: 'test' | 'live';
}

type Command = (pool: Pool, ctx: Context) => Promise<void>;

/** The command line as one command to run, or an InputError; nothing touches the database before it parses. */
function parseCommand(argv: string[]): Command {
  let parsed: { values: Flags; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        kind: { type: 'string' },
        'expires-in': { type: 'string' },
        label: { type: 'string' },
        admin: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new InputError((e as Error).message, true);
  }
  const { values: flags, positionals: words } = parsed;
  if (flags.help) throw new InputError('');
  if (words.length === 0) throw new InputError('a command is required', true);
  const [first, second, ...rest] = words;
  const onlyFlags = (allowed: Array<keyof Flags>) => {
    const extra = (Object.keys(flags) as Array<keyof Flags>).filter((f) => !allowed.includes(f));
    if (extra.length > 0) throw new InputError(`--${extra[0]} does not go with "${words.slice(0, 2).join(' ')}"`, true);
  };
  const argsCount = (n: number, what: string) => {
    if (words.length !== n) throw new InputError(`"${words.slice(0, n - 1).join(' ')}" takes ${what}`, true);
  };

  if (first === 'create') {
    onlyFlags([]);
    if (words.length < 2) throw new InputError('"create" takes the merchant\'s name', true);
    // the name may come unquoted: `create Acme Shop`
    const name = checkedText(words.slice(1).join(' '), 'the name');
    return (pool, ctx) => createMerchant(pool, ctx, name);
  }
  if (first === 'list') {
    onlyFlags([]);
    argsCount(1, 'nothing more');
    return listAllMerchants;
  }
  if (first === 'key' && second === 'create') {
    onlyFlags(['kind', 'expires-in', 'label', 'admin']);
    const kind = checkedKind(flags);
    const merchantId = flags.admin ? null : rest[0];
    if (flags.admin ? rest.length !== 0 : rest.length !== 1) {
      throw new InputError('"key create" takes a merchant id, or --admin instead of one', true);
    }
    const expiresAt = flags['expires-in'] === undefined ? undefined : expiryOf(flags['expires-in']);
    const label = flags.label === undefined ? undefined : checkedText(flags.label, '--label');
    return (pool, ctx) => createKey(pool, ctx, { merchantId: merchantId ?? null, kind, expiresAt, label });
  }
  if (first === 'key' && second === 'list') {
    onlyFlags(['admin']);
    if (flags.admin ? rest.length !== 0 : rest.length !== 1) throw new InputError('"key list" takes a merchant id, or --admin', true);
    return (pool, ctx) => listKeys(pool, ctx, flags.admin ? null : (rest[0] as string));
  }
  if (first === 'key' && second === 'revoke') {
    onlyFlags([]);
    argsCount(3, 'a key id (key_...) or prefix (sk_test_...)');
    return (pool, ctx) => revokeKey(pool, ctx, rest[0] as string);
  }
  throw new InputError(`unknown command "${words.slice(0, first === 'key' ? 2 : 1).join(' ')}"`, true);
}

function checkedKind(flags: Flags): ApiKeyKind {
  if (flags.admin) {
    if (flags.kind !== undefined && flags.kind !== 'admin') throw new InputError(`--admin makes an admin key; --kind ${flags.kind} does not go with it`);
    return 'admin';
  }
  const kind = flags.kind ?? 'secret';
  if (kind === 'admin') throw new InputError('an admin key belongs to no merchant: use "key create --admin"');
  if (!(API_KEY_KINDS as readonly string[]).includes(kind)) throw new InputError(`--kind must be secret or restricted, got "${kind}"`);
  return kind as ApiKeyKind;
}

const DURATION_UNITS_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** Ten years: further is "never", which is what leaving --expires-in out says. */
const MAX_EXPIRY_MS = 3_650 * 86_400_000;

/** "30d" as the moment it ends from now. */
function expiryOf(text: string): Date {
  const match = /^([1-9]\d{0,6})([mhdw])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number) : NaN;
  if (!match || ms > MAX_EXPIRY_MS) {
    throw new InputError(`--expires-in must be a whole number of minutes, hours, days or weeks up to 10 years (90m, 12h, 30d, 8w), got "${text}"`);
  }
  return new Date(Date.now() + ms);
}

/** 1-200 characters, no control characters (a NUL cannot be stored; a line break would break the listings). */
function checkedText(text: string, what: string): string {
  const trimmed = text.trim();
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (trimmed.length < 1 || trimmed.length > 200 || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new InputError(`${what} must be 1-200 characters without control characters`);
  }
  return trimmed;
}

async function createMerchant(pool: Pool, { io }: Context, name: string): Promise<void> {
  const merchant = await insertMerchant(pool, name);
  io.err(`created merchant "${merchant.name}"; its id (printed below) is what "key create" takes`);
  io.out(merchant.id);
}

async function listAllMerchants(pool: Pool, { io }: Context): Promise<void> {
  const merchants = await listMerchants(pool);
  const rows = await Promise.all(
    merchants.map(async (m) => {
      const active = (await listApiKeys(pool, m.id)).filter((k) => usable(k)).length;
      return [m.id, m.name, when(m.created_at), String(active)];
    }),
  );
  table(io, ['id', 'name', 'created', 'active keys'], rows);
}

async function createKey(
  pool: Pool,
  ctx: Context,
  o: { merchantId: string | null; kind: ApiKeyKind; expiresAt?: Date; label?: string },
): Promise<void> {
  if (o.merchantId !== null && !(await findMerchant(pool, o.merchantId))) throw unknownMerchant(o.merchantId);
  const { key, row } = await issueApiKey(pool, { ...o, env: ctx.keyEnv, pepper: ctx.pepper() });
  const owner = o.merchantId === null ? 'an admin key (operator routes, no merchant)' : `a ${o.kind} key of ${o.merchantId}`;
  ctx.io.err(`created ${owner}: id ${row.id}, prefix ${row.prefix}${row.expires_at ? `, expires ${when(row.expires_at)}` : ''}`);
  ctx.io.err('WARNING: the key below is shown this once and cannot be shown again (only its hash is stored); keep it in your secret store now.');
  ctx.io.out(key);
}

async function listKeys(pool: Pool, { io }: Context, merchantId: string | null): Promise<void> {
  if (merchantId !== null && !(await findMerchant(pool, merchantId))) throw unknownMerchant(merchantId);
  const keys = await listApiKeys(pool, merchantId);
  // never the key, never its hash: the prefix is what identifies it to people
  table(
    io,
    ['id', 'prefix', 'kind', 'label', 'created', 'last used', 'expires', 'revoked'],
    keys.map((k) => [k.id, k.prefix, k.kind, k.label ?? '-', when(k.created_at), when(k.last_used_at), when(k.expires_at), when(k.revoked_at)]),
  );
  if (keys.length === 0) io.err(merchantId === null ? 'no admin keys' : `no keys for ${merchantId}`);
}

async function revokeKey(pool: Pool, { io }: Context, idOrPrefix: string): Promise<void> {
  // a whole key pasted by mistake still names its key, by its public prefix
  const wanted = prefixOf(idOrPrefix) ?? idOrPrefix;
  const row = await revokeApiKey(pool, wanted);
  if (!row) throw new InputError(`no key with id or prefix "${wanted}" ("key list <merchant_id>" shows them)`);
  io.out(`revoked ${row.id} (${row.prefix}, ${row.kind}${row.merchant_id ? ` of ${row.merchant_id}` : ''}) at ${when(row.revoked_at)}`);
}

function unknownMerchant(id: string): InputError {
  return new InputError(`no merchant "${id}" ("npm run merchant -- list" shows them)`);
}

function usable(k: ApiKeyRow): boolean {
  return !k.revoked_at && !(k.expires_at && k.expires_at.getTime() <= Date.now());
}

function when(date: Date | null): string {
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')}Z` : '-';
}

function table(io: Io, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  io.out(line(header));
  for (const row of rows) io.out(line(row));
}

/**
 * Migrations first, as the tables' owner (as the api does at start), then a
 * small pool as the application. A database that is not there is one line
 * saying how to start it.
 */
async function openDatabase(database: DatabaseConfig, io: Io): Promise<Pool> {
  const { migrations } = loadDatabaseSessionConfig();
  try {
    const appRole = applicationRoleOf(database.url, database.migrationUrl);
    await migrate(database.migrationUrl, { ...migrations, appRole, connectTimeoutMs: 5_000, log: (line) => io.err(line) });
  } catch (e) {
    if (!unreachable(e)) throw new Error(`migrating the database failed: ${(e as Error).message}`, { cause: e });
    const where = database.embedded
      ? `the embedded Postgres of npm start on 127.0.0.1:${database.embeddedPort} is not running: start it with npm run start:postgres (or npm start), then run this again`
      : `cannot reach the database at DATABASE_URL (${redacted(database.url)}): ${(e as Error).message}`;
    throw new Error(where, { cause: e });
  }
  return createPool(database.url, 2);
}

function unreachable(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', '57P03'].includes(code ?? '') || /timeout expired|Connection terminated/i.test((e as Error).message);
}

function redacted(url: string): string {
  return url.replace(/:[^:@/]+@/, ':***@');
}

if (require.main === module) {
  const io: Io = { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      io.err(`merchant: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    },
  );
}
