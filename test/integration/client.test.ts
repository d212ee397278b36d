// The bundled client and CLI (docs/design.md, "Bundled client"): one Idempotency-Key per
// logical checkout reused on every attempt, full jitter, Retry-After honoured,
// 202 + Location followed to a final state, bounded attempts and total time.
import { runScript, type ScriptRun } from '../support/run-script';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckoutError,
  createCheckoutClient,
  fullJitterDelay,
  parseRetryAfter,
  type AttemptEvent,
  type CheckoutRequest,
} from '../../client/checkout-client';
import { parseCliArgs, UsageError } from '../../client/cli';
import { checkoutWorkflowId } from '../../domain/ids';
import { startTestStack, stubCharges, uniqueKey, type TestStack } from '../support/stack';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function request(overrides: Partial<CheckoutRequest> = {}): CheckoutRequest {
  return { customer_id: 'cust_client', amount_cents: 1999, currency: 'USD', payment_method_id: 'pm_card_visa', ...overrides };
}

/** An injected sleep that records what was asked for and returns at once. */
function recordingSleep(): { delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
    },
  };
}

/** A seeded PRNG (mulberry32), uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function chargesFor(stack: TestStack, key: string) {
  return (await stubCharges(stack.stub)).filter((c) => c.idempotency_key === `${checkoutWorkflowId(stack.merchant.merchantId, key)}:charge`);
}

// ---------------------------------------------------------------------------
// Against the real stack: api, worker, stub, Temporal and Postgres.
// ---------------------------------------------------------------------------

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

async function setFaults(faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.stub.url}/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  expect(res.status).toBe(200);
}

describe('checkout client against the real stack', () => {
  afterEach(async () => {
    await setFaults({ mode: 'ok', fail_rate: null, latency_ms: 0 });
  });

  it('a normal checkout completes in one attempt with one charge; the same key again is a replay', async () => {
    const client = createCheckoutClient({ baseUrl: stack.api.url, apiKey: stack.api.apiKey });
    const key = uniqueKey('client-happy');
    const result = await client.checkout(request({ amount_cents: 2500 }), { idempotencyKey: key });

    expect(result).toMatchObject({ status: 'completed', httpStatus: 201, replayed: false, attempts: 1, polls: 0, idempotencyKey: key });
    expect(result.body).toMatchObject({ status: 'completed', amount_cents: 2500, currency: 'USD' });
    expect(result.paymentId).toMatch(/^pay_/);
    expect(await chargesFor(stack, key)).toHaveLength(1);

    const again = await client.checkout(request({ amount_cents: 2500 }), { idempotencyKey: key });
    expect(again).toMatchObject({ status: 'completed', httpStatus: 200, replayed: true, attempts: 1, paymentId: result.paymentId });
    expect(await chargesFor(stack, key)).toHaveLength(1);
  });

  it('with the provider slowed to 4 s the api answers 202 and the client follows Location to completed: one charge for the key', async () => {
    await setFaults({ latency_ms: 4000 });
    const events: AttemptEvent[] = [];
    const client = createCheckoutClient({ baseUrl: stack.api.url, apiKey: stack.api.apiKey, onAttempt: (e) => events.push(e) });
    const key = uniqueKey('client-slow');

    const result = await client.checkout(request(), { idempotencyKey: key });

    expect(events[0]).toMatchObject({ kind: 'checkout', attempt: 1, httpStatus: 202, outcome: 'follow' });
    expect(events[0]?.retryAfterMs).toBe(1000);
    expect(events[0]?.nextDelayMs).toBeGreaterThanOrEqual(1000);
    expect(events.slice(1).every((e) => e.kind === 'poll' && e.method === 'GET')).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'poll', httpStatus: 200, paymentStatus: 'completed', outcome: 'done' });
    expect(result).toMatchObject({ status: 'completed', httpStatus: 200, attempts: 1, idempotencyKey: key });
    expect(result.polls).toBeGreaterThanOrEqual(1);
    expect(result.body).toMatchObject({ status: 'completed', payment_id: result.paymentId });

    const charges = await chargesFor(stack, key);
    expect(charges).toHaveLength(1);
    expect(charges[0]?.id).toBe((result.body as { provider_charge_id: string }).provider_charge_id);
  });

  it('a decline is final: declined after exactly one attempt', async () => {
    const events: AttemptEvent[] = [];
    const client = createCheckoutClient({ baseUrl: stack.api.url, apiKey: stack.api.apiKey, onAttempt: (e) => events.push(e) });
    const result = await client.checkout(request({ payment_method_id: 'pm_declined' }));

    expect(result).toMatchObject({ status: 'declined', httpStatus: 402, attempts: 1, polls: 0, error: { code: 'card_declined' } });
    expect(result.idempotencyKey).toMatch(UUID);
    expect(events).toHaveLength(1);
    expect(await chargesFor(stack, result.idempotencyKey)).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------
// Protocol behaviour. The real api cannot be made to answer 503 + Retry-After,
// reset a connection or hang on demand, so a scripted local HTTP server on
// port 0 stands in for the api: each request gets the next scripted answer
// (the last one repeats), and every request is recorded.
// ---------------------------------------------------------------------------

type Step = { status: number; headers?: Record<string, string>; body?: unknown } | 'reset' | 'hang';

interface SeenRequest {
  method: string;
  url: string;
  key: string | undefined;
  authorization: string | undefined;
  body: string;
}

/** The stand-in api checks no key: the tests check what the client sends. */
const SCRIPTED_KEY = `sk_test_${'S'.repeat(43)}`;

interface ScriptedApi {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

const scripted: ScriptedApi[] = [];

async function scriptedApi(steps: Step[]): Promise<ScriptedApi> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        key: req.headers['idempotency-key'] as string | undefined,
        authorization: req.headers.authorization,
        body,
      });
      const step = steps[Math.min(seen.length, steps.length) - 1];
      if (step === undefined || step === 'hang') return;
      if (step === 'reset') {
        req.socket.resetAndDestroy();
        return;
      }
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
      res.end(JSON.stringify(step.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const api: ScriptedApi = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  scripted.push(api);
  return api;
}

const completed = { status: 201, body: { payment_id: 'pay_1', status: 'completed', amount_cents: 1999, currency: 'USD' } };
const unavailable = (retryAfter?: string): Step => ({
  status: 503,
  headers: retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
  body: { error: { code: 'temporarily_unavailable', message: 'retry with the same Idempotency-Key' } },
});

describe('checkout client protocol behaviour (scripted stand-in for the api)', () => {
  afterEach(async () => {
    await Promise.all(scripted.splice(0).map((s) => s.close()));
  });

  it('503 + Retry-After: 1 twice, then 201: three attempts, all with the same key and body, each wait at least 1 s', async () => {
    const api = await scriptedApi([unavailable('1'), unavailable('1'), completed]);
    const { delays, sleep } = recordingSleep();
    // random() = 0 makes every jittered delay 0: only Retry-After can account for the waits
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep, random: () => 0 });

    const result = await client.checkout(request());

    expect(result).toMatchObject({ status: 'completed', httpStatus: 201, attempts: 3 });
    expect(api.seen).toHaveLength(3);
    expect(result.idempotencyKey).toMatch(UUID);
    for (const seen of api.seen) {
      expect(seen).toMatchObject({ method: 'POST', url: '/checkout', key: result.idempotencyKey });
      expect(seen.body).toBe(api.seen[0]?.body);
    }
    expect(JSON.parse(api.seen[0]?.body ?? '')).toEqual(request());
    expect(delays).toHaveLength(2);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(1000);
  });

  it('a Retry-After given as an HTTP date is honoured too', async () => {
    const at = new Date(Date.now() + 5_000).toUTCString(); // second resolution: 4–5 s from now
    const api = await scriptedApi([{ status: 429, headers: { 'Retry-After': at } }, completed]);
    const { delays, sleep } = recordingSleep();
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep, random: () => 0 });

    const result = await client.checkout(request());
    expect(result).toMatchObject({ status: 'completed', attempts: 2 });
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(3_900);
    expect(delays[0]).toBeLessThanOrEqual(5_000);
    expect(api.seen[1]?.key).toBe(api.seen[0]?.key);
  });

  it('a connection reset is retried with the same key', async () => {
    const api = await scriptedApi(['reset', completed]);
    const events: AttemptEvent[] = [];
    const { sleep } = recordingSleep();
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep, onAttempt: (e) => events.push(e) });

    const result = await client.checkout(request());

    expect(result).toMatchObject({ status: 'completed', attempts: 2 });
    expect(api.seen.map((s) => s.key)).toEqual([result.idempotencyKey, result.idempotencyKey]);
    expect(events[0]).toMatchObject({ attempt: 1, outcome: 'retry' });
    expect(events[0]?.httpStatus).toBeUndefined();
    expect(events[0]?.error).toMatch(/ECONNRESET|socket|closed/i);
  });

  it('a request that outlives requestTimeoutMs is abandoned and retried with the same key', async () => {
    const api = await scriptedApi(['hang', completed]);
    const events: AttemptEvent[] = [];
    const { sleep } = recordingSleep();
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep, requestTimeoutMs: 200, onAttempt: (e) => events.push(e) });

    const result = await client.checkout(request());

    expect(result).toMatchObject({ status: 'completed', attempts: 2 });
    expect(api.seen[1]?.key).toBe(api.seen[0]?.key);
    expect(events[0]?.error).toMatch(/timeout after 200 ms/);
  });

  it('full jitter: every delay lies in [0, min(cap, base·2^n)], spread out, over many attempts (seeded random)', async () => {
    const api = await scriptedApi([{ status: 500, body: { error: { code: 'internal_error', message: 'internal error' } } }]);
    const { delays, sleep } = recordingSleep();
    const opts = { baseDelayMs: 100, maxDelayMs: 3_000 };
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, ...opts, maxAttempts: 20, sleep, random: seeded(42) });

    await expect(client.checkout(request())).rejects.toThrow(CheckoutError);
    expect(api.seen).toHaveLength(20);
    expect(new Set(api.seen.map((s) => s.key)).size).toBe(1);
    expect(delays).toHaveLength(19);
    delays.forEach((d, n) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** n));
    });
    // jittered, not a fixed schedule: the capped tail is spread over [0, cap]
    const tail = delays.slice(6);
    expect(new Set(tail).size).toBeGreaterThan(10);
    expect(Math.max(...tail)).toBeGreaterThan(opts.maxDelayMs / 2);

    // and the formula itself over 10 000 seeded draws: bounds hold and the mean is cap/2
    const random = seeded(7);
    for (const n of [0, 1, 3, 5, 8, 20]) {
      const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** n);
      const draws = Array.from({ length: 10_000 }, () => fullJitterDelay(n, { ...opts, random }));
      expect(draws.filter((d) => d < 0 || d > ceiling)).toEqual([]);
      expect(draws.reduce((a, b) => a + b, 0) / draws.length / ceiling).toBeCloseTo(0.5, 1);
    }
  });

  it('maxAttempts reached: rejects naming the attempts made and the last status', async () => {
    const api = await scriptedApi([unavailable()]);
    const { sleep } = recordingSleep();
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, maxAttempts: 3, sleep });

    const error = await client.checkout(request(), { idempotencyKey: 'client-exhausted-1' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CheckoutError);
    expect((error as CheckoutError).message).toMatch(/after 3 attempts/);
    expect((error as CheckoutError).message).toMatch(/last status: 503/);
    expect((error as CheckoutError).message).toContain('client-exhausted-1');
    expect(error).toMatchObject({ reason: 'max_attempts', attempts: 3, lastStatus: 503, idempotencyKey: 'client-exhausted-1' });
    expect(api.seen).toHaveLength(3);
  });

  it('a Retry-After beyond the total timeout gives up at once instead of sleeping past it', async () => {
    const api = await scriptedApi([unavailable('120')]);
    const { delays, sleep } = recordingSleep();
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, totalTimeoutMs: 10_000, sleep });

    const error = await client.checkout(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'total_timeout', attempts: 1, lastStatus: 503 });
    expect((error as Error).message).toMatch(/total timeout of 10000 ms/);
    expect(delays).toEqual([]);
    expect(api.seen).toHaveLength(1);
  });

  it('the total time bounds the whole call (injected clock)', async () => {
    const api = await scriptedApi([unavailable('2')]);
    let clock = 0;
    const client = createCheckoutClient({
      baseUrl: api.url,
      apiKey: SCRIPTED_KEY,
      totalTimeoutMs: 7_000,
      maxAttempts: 100,
      random: () => 0,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    const error = await client.checkout(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'total_timeout', attempts: 4 });
  });

  it('422 is reported as key reuse and not retried', async () => {
    const api = await scriptedApi([
      {
        status: 422,
        body: { error: { code: 'idempotency_key_reused', message: 'this Idempotency-Key was used with a different request body', field: 'Idempotency-Key' } },
      },
    ]);
    const { delays, sleep } = recordingSleep();
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep });

    const result = await client.checkout(request(), { idempotencyKey: 'reused-key' });

    expect(result).toMatchObject({ status: 'key_reused', httpStatus: 422, attempts: 1, idempotencyKey: 'reused-key', error: { code: 'idempotency_key_reused' } });
    expect(api.seen).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it.each([
    [400, 'invalid_request', { error: { code: 'invalid_request', message: 'amount_cents must be an integer', field: 'amount_cents' } }],
    [413, 'invalid_request', { error: { code: 'payload_too_large', message: 'too large' } }],
    [415, 'invalid_request', { error: { code: 'unsupported_media_type', message: 'not JSON' } }],
    [402, 'declined', { payment_id: 'pay_1', status: 'failed', error: { code: 'card_declined', message: 'declined' } }],
    [502, 'failed', { payment_id: 'pay_1', status: 'failed', error: { code: 'provider_unavailable', message: 'gave up' } }],
    [500, 'refunded', { payment_id: 'pay_1', status: 'refunded', error: { code: 'payment_reversed', message: 'refunded' } }],
  ])('%s is final (%s): one attempt, no retry', async (status, expected, body) => {
    const api = await scriptedApi([{ status, body }]);
    const { sleep } = recordingSleep();
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep });
    const result = await client.checkout(request());
    expect(result).toMatchObject({ status: expected, httpStatus: status, attempts: 1 });
    expect(api.seen).toHaveLength(1);
  });

  it('a 500 that is not a payment outcome (checkout_failed) is retried with the same key', async () => {
    const api = await scriptedApi([
      { status: 500, body: { error: { code: 'checkout_failed', message: 'safe to retry with the same Idempotency-Key' } } },
      completed,
    ]);
    const { sleep } = recordingSleep();
    const result = await createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep }).checkout(request());
    expect(result).toMatchObject({ status: 'completed', attempts: 2 });
    expect(api.seen[1]?.key).toBe(api.seen[0]?.key);
  });

  it('202 + Location: polls with GET (never a second POST), waiting at least Retry-After, until a final state', async () => {
    const api = await scriptedApi([
      { status: 202, headers: { Location: '/payments/pay_9', 'Retry-After': '1' }, body: { payment_id: 'pay_9', status: 'pending' } },
      { status: 200, body: { payment_id: 'pay_9', status: 'pending' } },
      { status: 503, headers: { 'Retry-After': '2' } },
      { status: 200, body: { payment_id: 'pay_9', status: 'failed', failure_code: 'insufficient_funds' } },
    ]);
    const { delays, sleep } = recordingSleep();
    const result = await createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep, random: () => 0 }).checkout(request());

    expect(api.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /checkout', 'GET /payments/pay_9', 'GET /payments/pay_9', 'GET /payments/pay_9']);
    expect(delays).toEqual([1000, 1000, 2000]);
    expect(result).toMatchObject({ status: 'declined', httpStatus: 200, attempts: 1, polls: 3, paymentId: 'pay_9', error: { code: 'insufficient_funds' } });
  });

  it('the API key goes as Authorization: Bearer on every POST and every poll, and appears in no event or error', async () => {
    const api = await scriptedApi([
      unavailable('1'),
      { status: 202, headers: { Location: '/payments/pay_7', 'Retry-After': '1' }, body: { payment_id: 'pay_7', status: 'pending' } },
      { status: 200, body: { payment_id: 'pay_7', status: 'completed' } },
    ]);
    const events: AttemptEvent[] = [];
    const { sleep } = recordingSleep();
    const result = await createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep, onAttempt: (e) => events.push(e) }).checkout(request());
    expect(result).toMatchObject({ status: 'completed', attempts: 2, polls: 1 });
    expect(api.seen.map((s) => `${s.method} ${s.authorization}`)).toEqual([
      `POST Bearer ${SCRIPTED_KEY}`,
      `POST Bearer ${SCRIPTED_KEY}`,
      `GET Bearer ${SCRIPTED_KEY}`,
    ]);
    expect(JSON.stringify({ events, result })).not.toContain(SCRIPTED_KEY);
  });

  it('a 202 whose Location is on another origin is not followed: the key never leaves the api', async () => {
    const elsewhere = await scriptedApi([{ status: 200, body: { payment_id: 'pay_8', status: 'completed' } }]);
    const api = await scriptedApi([{ status: 202, headers: { Location: `${elsewhere.url}/payments/pay_8` }, body: { payment_id: 'pay_8', status: 'pending' } }]);
    const { sleep } = recordingSleep();
    const error = await createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep }).checkout(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'unexpected_response' });
    expect((error as Error).message).toMatch(/another origin/);
    expect((error as Error).message).not.toContain(SCRIPTED_KEY);
    expect(elsewhere.seen).toEqual([]);
  });

  it('the API key is required, and one that could not be a header value is refused before any request', () => {
    const make = (apiKey: unknown) => () => createCheckoutClient({ baseUrl: 'http://127.0.0.1:9', apiKey } as never);
    for (const bad of [undefined, '', 'sk test', 'sk_test_x\r\nX-Evil: 1', 42]) expect(make(bad)).toThrow(/apiKey is required/);
    expect(make('sk_test_x')).not.toThrow();
  });

  it('one key per logical checkout: each call makes its own, a given key is used as is, an invalid key is refused before any request', async () => {
    const api = await scriptedApi([completed]);
    const { sleep } = recordingSleep();
    const client = createCheckoutClient({ baseUrl: api.url, apiKey: SCRIPTED_KEY, sleep });
    const a = await client.checkout(request());
    const b = await client.checkout(request());
    expect(a.idempotencyKey).not.toBe(b.idempotencyKey);
    const c = await client.checkout(request(), { idempotencyKey: 'order-42' });
    expect(c.idempotencyKey).toBe('order-42');
    expect(api.seen.map((s) => s.key)).toEqual([a.idempotencyKey, b.idempotencyKey, 'order-42']);

    await expect(client.checkout(request(), { idempotencyKey: 'has space' })).rejects.toThrow(/idempotencyKey/);
    await expect(client.checkout(request(), { idempotencyKey: '' })).rejects.toThrow(/idempotencyKey/);
    expect(api.seen).toHaveLength(3);
  });

  it('parseRetryAfter reads delta-seconds and HTTP dates, and ignores what is neither', () => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:47 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------
// The CLI, spawned as a user would run it, against the real stack's api.
// ---------------------------------------------------------------------------

type Run = ScriptRun;

/** No key unless a test gives one: an empty DATA_DIR, so a key npm start left in .data/ is not read. */
let emptyDataDir: string;
beforeAll(() => {
  emptyDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-cli-'));
});
afterAll(() => {
  if (emptyDataDir) fs.rmSync(emptyDataDir, { recursive: true, force: true });
});

function runCliProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runScript('client/cli.ts', args, { ...process.env, CHECKOUT_API_URL: '', CHECKOUT_API_KEY: '', DATA_DIR: emptyDataDir, ...env });
}

describe('checkout CLI', () => {
  it('completes a checkout: exit 0, the result JSON on stdout, one progress line per attempt on stderr', async () => {
    const key = uniqueKey('cli');
    const run = await runCliProcess(
      ['--customer', 'c1', '--amount', '1999', '--currency', 'USD', '--payment-method', 'pm_card_visa', '--key', key],
      { CHECKOUT_API_URL: stack.api.url, CHECKOUT_API_KEY: stack.api.apiKey },
    );
    expect(run.stderr).toMatch(/^attempt 1: POST \/checkout -> 201; done/m);
    expect(`${run.stdout}${run.stderr}`).not.toContain(stack.api.apiKey);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ status: 'completed', httpStatus: 201, attempts: 1, idempotencyKey: key, body: { status: 'completed', amount_cents: 1999 } });
    expect(await chargesFor(stack, key)).toHaveLength(1);
  });

  it('a decline exits 2 with the declined result on stdout (--url flag; the key from DATA_DIR/dev-api-key, as npm start writes it)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-cli-key-'));
    try {
      fs.writeFileSync(path.join(dataDir, 'dev-api-key'), `${stack.api.apiKey}\n`, { mode: 0o600 });
      const run = await runCliProcess(['--customer', 'c1', '--amount', '500', '--currency', 'EUR', '--payment-method', 'pm_declined', '--url', stack.api.url], {
        DATA_DIR: dataDir,
      });
      expect(run.code).toBe(2);
      expect(JSON.parse(run.stdout)).toMatchObject({ status: 'declined', httpStatus: 402, attempts: 1 });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('without a key: exit 1 naming CHECKOUT_API_KEY and the file npm start writes, nothing sent; a refused key: exit 1 saying so', async () => {
    const args = ['--customer', 'c1', '--amount', '1999', '--currency', 'USD', '--payment-method', 'pm_card_visa', '--url', stack.api.url];
    const none = await runCliProcess(args);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`checkout: no API key: set CHECKOUT_API_KEY, or start the stack once with npm start (it writes ${path.join(emptyDataDir, 'dev-api-key')})`);
    expect(none.stdout).toBe('');

    const refused = await runCliProcess(args, { CHECKOUT_API_KEY: `sk_test_${'0'.repeat(43)}` });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ status: 'invalid_request', httpStatus: 401, attempts: 1, error: { code: 'api_key_invalid' } });
    expect(refused.stderr).toMatch(/the api refused the API key \(api_key_invalid\)/);
  });

  it('--amount 19.99 exits 1 with a usage message naming --amount, and sends nothing', async () => {
    const run = await runCliProcess(['--customer', 'c1', '--amount', '19.99', '--currency', 'USD', '--payment-method', 'pm_card_visa', '--url', 'http://127.0.0.1:9']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--amount');
    expect(run.stderr).toContain('usage:');
    expect(run.stdout).toBe('');
  });

  it('flag validation names the bad flag', () => {
    const ok = ['--customer', 'c1', '--amount', '1999', '--currency', 'USD', '--payment-method', 'pm_card_visa'];
    const keyed = { CHECKOUT_API_KEY: 'sk_test_k' };
    const bad = (args: string[], flag: RegExp) => expect(() => parseCliArgs(args, keyed)).toThrow(flag);
    expect(parseCliArgs(ok, keyed)).toEqual({
      request: { customer_id: 'c1', amount_cents: 1999, currency: 'USD', payment_method_id: 'pm_card_visa' },
      url: 'http://127.0.0.1:3000',
      apiKey: 'sk_test_k',
    });
    expect(parseCliArgs(ok, { ...keyed, CHECKOUT_API_URL: 'http://api:8080' }).url).toBe('http://api:8080');
    expect(parseCliArgs([...ok, '--url', 'http://x:1'], { ...keyed, CHECKOUT_API_URL: 'http://api:8080' }).url).toBe('http://x:1');
    expect(() => parseCliArgs(['--amount', '5'], keyed)).toThrow(UsageError);
    expect(() => parseCliArgs(ok, { DATA_DIR: emptyDataDir })).toThrow(/no API key: set CHECKOUT_API_KEY/);
    bad(['--amount', '5', '--currency', 'USD', '--payment-method', 'pm'], /--customer/);
    for (const amount of ['19.99', '0', '-5', '1e3', 'abc', '100000000', '']) bad(ok.map((a) => (a === '1999' ? amount : a)), /--amount/);
    bad(ok.map((a) => (a === 'USD' ? 'usd' : a)), /--currency/);
    bad(ok.map((a) => (a === 'pm_card_visa' ? '' : a)), /--payment-method/);
    bad([...ok, '--key', 'has space'], /--key/);
    bad([...ok, '--url', 'ftp://x'], /--url/);
    bad([...ok, '--colour', 'red'], /--colour/);
  });
});
