// The checkout CLI: one logical checkout, retried and followed by the client.
//
//   npm run checkout -- --customer c1 --amount 1999 --currency USD --payment-method pm_card_visa [--key k] [--url http://127.0.0.1:3000]
//
// The API key: $CHECKOUT_API_KEY, else the development key `npm start` wrote
// to $DATA_DIR/dev-api-key (.data/dev-api-key). Never a flag: a key on the
// command line would be in the shell's history and in ps.
//
// One progress line per request on stderr, the final JSON on stdout.
// Exit 0 completed; 2 declined, failed or refunded; 1 anything else (usage,
// refused request, key reuse, gave up: the JSON then names the key to resume with).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  CheckoutError,
  createCheckoutClient,
  IDEMPOTENCY_KEY_PATTERN,
  type AttemptEvent,
  type CheckoutClientOptions,
  type CheckoutRequest,
  type CheckoutResult,
} from './checkout-client';

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';
/** Where `npm start` keeps the development merchant's key, in its DATA_DIR (.data by default). */
export const DEV_API_KEY_FILE = 'dev-api-key';

export const USAGE = `usage: npm run checkout -- --customer <id> --amount <cents> --currency <ISO 4217> --payment-method <id> [--key <idempotency-key>] [--url <api url>]

  --customer         customer id, 1-64 characters
  --amount           amount in integer cents, 1-99999999 (1999 for 19.99)
  --currency         three upper-case letters, e.g. USD
  --payment-method   payment method id, e.g. pm_card_visa
  --key              Idempotency-Key (default: a new UUID); pass the key of an earlier run to resume it
  --url              api base URL (default: $CHECKOUT_API_URL or ${DEFAULT_API_URL})

The API key is $CHECKOUT_API_KEY, else the one npm start wrote to .data/${DEV_API_KEY_FILE} ($DATA_DIR/${DEV_API_KEY_FILE}).

exit status: 0 completed, 2 declined/failed/refunded, 1 error`;

export const EXIT = { completed: 0, error: 1, declined: 2 } as const;

export interface CliArgs {
  request: CheckoutRequest;
  idempotencyKey?: string;
  url: string;
  apiKey: string;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Validated flags, or a UsageError naming the bad flag. */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  const flags = readFlags(argv);
  // Every problem at once, each naming its flag.
  const problems: string[] = [];
  const request = checkedRequest(flags, problems);
  const key = checkedKey(flags, problems);
  const url = checkedUrl(flags, env, problems);
  const apiKey = checkedApiKey(env, problems);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return { request, ...(key !== undefined ? { idempotencyKey: key } : {}), url, apiKey };
}

type Flags = Record<string, string | boolean | undefined>;

/** The flags as given, unchecked; an unknown flag or a positional is a UsageError, and so is --help (with no message). */
function readFlags(argv: string[]): Flags {
  let values: Flags;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        customer: { type: 'string' },
        amount: { type: 'string' },
        currency: { type: 'string' },
        'payment-method': { type: 'string' },
        key: { type: 'string' },
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) throw new UsageError('');
  return values;
}

function flagText(flags: Flags, flag: string): string | undefined {
  const v = flags[flag];
  return typeof v === 'string' ? v : undefined;
}

/** The checkout request from its four required flags; what is wrong is added to problems. */
function checkedRequest(flags: Flags, problems: string[]): CheckoutRequest {
  const check = (flag: string, ok: (v: string) => boolean, rule: string): string => {
    const v = flagText(flags, flag);
    if (v === undefined || v === '') problems.push(`--${flag} is required`);
    else if (!ok(v)) problems.push(`--${flag} ${rule}, got "${v}"`);
    return v ?? '';
  };
  const customer = check('customer', (v) => v.length <= 64, 'must be at most 64 characters');
  const amountText = check(
    'amount',
    (v) => /^[1-9]\d*$/.test(v) && Number(v) <= 99_999_999,
    'must be a whole number of cents from 1 to 99999999 (e.g. 1999 for 19.99)',
  );
  const currency = check('currency', (v) => /^[A-Z]{3}$/.test(v), 'must be three upper-case letters (ISO 4217)');
  const paymentMethod = check('payment-method', (v) => v.length <= 64, 'must be at most 64 characters');
  return { customer_id: customer, amount_cents: Number(amountText), currency, payment_method_id: paymentMethod };
}

/** --key when given; it must already be a valid Idempotency-Key, since resuming with a mangled key would start a new checkout. */
function checkedKey(flags: Flags, problems: string[]): string | undefined {
  const key = flagText(flags, 'key');
  if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    problems.push(`--key must be 1-255 visible ASCII characters (no spaces), got "${key}"`);
  }
  return key;
}

/** --url, else $CHECKOUT_API_URL, else the default; a problem names where the bad URL came from. */
function checkedUrl(flags: Flags, env: NodeJS.ProcessEnv, problems: string[]): string {
  const urlSource = flagText(flags, 'url') !== undefined ? '--url' : env.CHECKOUT_API_URL ? 'CHECKOUT_API_URL' : 'default URL';
  const urlText = flagText(flags, 'url') ?? (env.CHECKOUT_API_URL || DEFAULT_API_URL);
  if (!isHttpUrl(urlText)) problems.push(`${urlSource} must be an http(s) URL, got "${urlText}"`);
  return urlText;
}

/** $CHECKOUT_API_KEY, else the key in $DATA_DIR/dev-api-key (relative to the working directory, as npm start's DATA_DIR is). */
function checkedApiKey(env: NodeJS.ProcessEnv, problems: string[]): string {
  if (env.CHECKOUT_API_KEY) return env.CHECKOUT_API_KEY.trim();
  const file = path.resolve(env.DATA_DIR || '.data', DEV_API_KEY_FILE);
  try {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key !== '') return key;
  } catch {
    // no file: said below
  }
  problems.push(`no API key: set CHECKOUT_API_KEY, or start the stack once with npm start (it writes ${file})`);
  return '';
}

/** One stderr line per request: which one, what came back, what happens next. */
export function progressLine(e: AttemptEvent): string {
  const path = new URL(e.url).pathname;
  const what = e.kind === 'checkout' ? `attempt ${e.attempt}: ${e.method} ${path}` : `poll ${e.attempt}: ${e.method} ${path}`;
  const answer = e.httpStatus !== undefined ? `${e.httpStatus}${e.paymentStatus ? ` ${e.paymentStatus}` : ''}` : (e.error ?? 'no answer');
  const retryAfter = e.retryAfterMs !== undefined ? ` (Retry-After ${e.retryAfterMs} ms)` : '';
  const next =
    e.outcome === 'retry'
      ? `retrying in ${e.nextDelayMs} ms`
      : e.outcome === 'follow'
        ? `following Location, first poll in ${e.nextDelayMs} ms`
        : e.outcome === 'pending'
          ? `next poll in ${e.nextDelayMs} ms`
          : e.outcome === 'give_up'
            ? 'giving up'
            : 'done';
  return `${what} -> ${answer}${retryAfter}; ${next} [key ${e.idempotencyKey}, ${e.elapsedMs} ms]`;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export function exitCodeOf(result: CheckoutResult): number {
  switch (result.status) {
    case 'completed':
      return EXIT.completed;
    case 'declined':
    case 'failed':
    case 'refunded':
      return EXIT.declined;
    default:
      return EXIT.error;
  }
}

export interface CliIo {
  env?: NodeJS.ProcessEnv;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Overrides for the client (tests); baseUrl comes from the flags, apiKey from the environment. */
  client?: Omit<CheckoutClientOptions, 'baseUrl' | 'apiKey' | 'onAttempt'>;
}

/** One checkout from the command line; resolves to the exit status. */
export async function runCli(argv: string[], io: CliIo = {}): Promise<number> {
  const out = io.stdout ?? ((t: string) => process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => process.stderr.write(t));
  let args: CliArgs;
  try {
    args = parseCliArgs(argv, io.env ?? process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return printUsage(e, { out, err });
  }

  const client = createCheckoutClient({
    ...io.client,
    baseUrl: args.url,
    apiKey: args.apiKey,
    onAttempt: (event) => err(`${progressLine(event)}\n`),
  });
  try {
    const result = await client.checkout(args.request, args.idempotencyKey !== undefined ? { idempotencyKey: args.idempotencyKey } : {});
    return printResult(result, { out, err });
  } catch (e) {
    if (!(e instanceof CheckoutError)) throw e;
    return printGiveUp(e, { out, err });
  }
}

interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The problems, if any, then the usage; --help alone is not an error. */
function printUsage(e: UsageError, { err }: Output): number {
  err(`${e.message ? `${e.message.split('\n').map((m) => `checkout: ${m}`).join('\n')}\n\n` : ''}${USAGE}\n`);
  return e.message ? EXIT.error : EXIT.completed;
}

function printResult(result: CheckoutResult, { out, err }: Output): number {
  out(`${JSON.stringify(result, null, 2)}\n`);
  if (result.status === 'key_reused') {
    err('checkout: this Idempotency-Key was already used for a different checkout; use a new key (omit --key) for a new checkout\n');
  }
  if (result.httpStatus === 401) {
    err(`checkout: the api refused the API key (${result.error?.code ?? 'unauthorized'}); set CHECKOUT_API_KEY to a valid key, or delete .data/${DEV_API_KEY_FILE} and restart npm start for a new one\n`);
  }
  return exitCodeOf(result);
}

/** The JSON names the key, so the user can run again with --key and resume the same checkout. */
function printGiveUp(e: CheckoutError, { out, err }: Output): number {
  err(`checkout: ${e.message}\n`);
  out(
    `${JSON.stringify(
      {
        status: 'error',
        reason: e.reason,
        attempts: e.attempts,
        polls: e.polls,
        lastStatus: e.lastStatus,
        idempotencyKey: e.idempotencyKey,
        message: e.message,
      },
      null,
      2,
    )}\n`,
  );
  return EXIT.error;
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`checkout: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = EXIT.error;
    },
  );
}
