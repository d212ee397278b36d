// Property-based: thousands of random requests (bodies, headers, paths,
// methods) against the real api of a test stack never get a 5xx and never
// charge for anything but a valid checkout. The requests are drawn with
// fast-check from a fixed seed, printed with the summary, so a failure replays:
//
//   API_FUZZ_SEED=<seed> [API_FUZZ_RUNS=<n>] npx vitest run test/integration/api-fuzz.test.ts
import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutWorkflowId } from '../../domain/ids';
import { startTestStack, stubCharges, type TestStack } from '../support/stack';

const SEED = Number(process.env.API_FUZZ_SEED ?? 20_251_201);
const RUNS = Number(process.env.API_FUZZ_RUNS ?? 2_000);
const CONCURRENCY = 6;
const REQUEST_TIMEOUT_MS = 15_000;
const MAX_BODY_BYTES = 16 * 1024;
const WEBHOOK_EVENTS = ['payment.completed', 'payment.failed', 'payment.refunded'];

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

/** One drawn request, and what the test knows about it without asking the api. */
interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** A POST /checkout: its key (when the header carries one) and, when the request is a valid checkout, its body. */
  checkout?: { key?: string; valid?: CheckoutBody };
}

interface CheckoutBody {
  customer_id: string;
  amount_cents: number;
  currency: string;
  payment_method_id: string;
}

// ---- what the api's contract says is valid, written independently of api/checkout/schema.ts ----

// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const CONTROL_OR_UNPAIRED = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 64 && !CONTROL_OR_UNPAIRED.test(v);

function validCheckoutBody(value: unknown): CheckoutBody | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value).sort();
  if (keys.join() !== 'amount_cents,currency,customer_id,payment_method_id') return undefined;
  const v = value as Record<string, unknown>;
  const amount = v.amount_cents;
  if (!isId(v.customer_id) || !isId(v.payment_method_id)) return undefined;
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 1 || amount > 99_999_999) return undefined;
  if (typeof v.currency !== 'string' || !/^[A-Z]{3}$/.test(v.currency)) return undefined;
  return value as CheckoutBody;
}

// ---- the arbitraries --------------------------------------------------------------------

const nasty = fc.constantFrom('\u0000', '\u0007', '\n', '\t', '\u007f', '\ud800', '\udc00', '%', '"', '\\', 'é', '😀', '東', '\u202e', '\ufeff', ' ');
const fuzzText = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.oneof(nasty, fc.string({ minLength: 1, maxLength: 1 })), maxLength: 20 }),
  fc.constantFrom('', 'a\u0000b', '\u0000', 'x'.repeat(65), 'x'.repeat(64)),
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fuzzText, fc.double(), fc.constantFrom(null, true, [], {}, -0, 1e21, Number.MAX_SAFE_INTEGER + 2));
const goodId = fc.oneof(
  fc.constantFrom('cust_fuzz_1', 'cust_fuzz_2', 'Zoë 😀'),
  fc.string({ unit: fc.constantFrom(...'abcXYZ0189_-. éü😀東'), minLength: 1, maxLength: 40 }),
);
/** arb one time in `oneIn`, else null. */
const rarely = <T>(arb: fc.Arbitrary<T>, oneIn: number) => fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
const field = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: anyJson });

const checkoutObject = fc
  .record({
    customer_id: field(goodId),
    amount_cents: field(
      fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 200_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 5_000_001, max: 99_999_999 }) }),
    ),
    currency: field(fc.oneof(fc.constantFrom('USD', 'EUR'), fc.stringMatching(/^[A-Z]{3}$/))),
    payment_method_id: field(
      fc.oneof({ weight: 8, arbitrary: fc.constant('pm_card_visa') }, { weight: 1, arbitrary: fc.constantFrom('pm_declined', 'pm_insufficient_funds') }, { weight: 1, arbitrary: goodId }),
    ),
    drop: rarely(fc.constantFrom('customer_id', 'amount_cents', 'currency', 'payment_method_id'), 12),
    extra: rarely(fc.tuple(fc.string({ maxLength: 12 }), anyJson), 15),
  })
  .map(({ drop, extra, ...body }) => {
    const out: Record<string, unknown> = { ...body };
    if (drop !== null) delete out[drop];
    if (extra !== null) out[extra[0]] = extra[1];
    return out;
  });

/** A body: mostly a checkout object as JSON, sometimes anything else. */
const bodyOf = (object: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 20, arbitrary: object.map((o) => ({ json: o as unknown, bytes: Buffer.from(JSON.stringify(o)) })) },
    { weight: 1, arbitrary: anyJson.map((o) => ({ json: o, bytes: Buffer.from(JSON.stringify(o) ?? '') })) },
    { weight: 1, arbitrary: fuzzText.map((t) => ({ json: undefined, bytes: Buffer.from(t) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }).map((b) => ({ json: undefined, bytes: Buffer.from(b) })) },
    {
      weight: 1,
      arbitrary: object.chain((o) => {
        const text = JSON.stringify(o);
        return fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => ({ json: undefined, bytes: Buffer.from(text.slice(0, cut)) }));
      }),
    },
    { weight: 1, arbitrary: object.map((o) => ({ json: undefined, bytes: Buffer.from(JSON.stringify({ ...(o as object), pad: 'x'.repeat(MAX_BODY_BYTES) })) })) },
  );

const contentType = fc.oneof(
  { weight: 30, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/json; charset="UTF-8"') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json; charset=utf-99',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/vnd.api+json',
      'application/json; boundary=x; x',
      'multipart/form-data; boundary=abc',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')) },
);

const contentEncoding = fc.oneof(
  { weight: 30, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown', 'gzip, gzip') },
);

/** A key header: mostly one of this run's (fresh, or one of a few hot ones), sometimes missing or invalid. */
const keyHeader = (prefix: string) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.nat({ max: 1_000_000_000 }).map((n) => `${prefix}${n}`) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 15 }).map((n) => `${prefix}hot-${n}`) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'!~:/%?#"\'=aZ09'), minLength: 1, maxLength: 40 }).map((s) => `${prefix}${s}`) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, '', ' ', 'has space', 'x'.repeat(256), 'caf\u00e9', '\t') },
  );

/** A path segment as raw bytes on the wire (Node sends 0x21-0xff as is). */
const segment = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...'abcXYZ0189_-.~') },
    { weight: 2, arbitrary: fc.constantFrom('%E0', '%00', '%C3%28', '%FF', '%2F', '%25', '%', '%4', '%zz', '%C3%A9', '%F0%9F%98%80', '%ED%A0%80') },
    { weight: 1, arbitrary: fc.constantFrom(...'!$&\'()*+,;=:@', '\u00e9', '\u00ff', '\u007f', '..', '.') },
  ),
  maxLength: 24,
});

const queryValue = fc.oneof(segment, fc.constantFrom('1', '100', '0', '-1', 'dead', 'pending', 'abc%00', '%00'));

function otherRequest(): fc.Arbitrary<Omit<FuzzRequest, 'checkout'>> {
  const get = (path: fc.Arbitrary<string>) => path.map((p) => ({ method: 'GET', path: p, headers: {} as Record<string, string> }));
  const withMethod = (methods: string[], path: fc.Arbitrary<string>) =>
    fc.tuple(fc.constantFrom(...methods), path).map(([method, p]) => ({ method, path: p, headers: {} as Record<string, string> }));
  return fc.oneof(
    get(segment.map((s) => `/payments/${s}`)),
    withMethod(['GET', 'DELETE', 'HEAD', 'PUT'], segment.map((s) => `/webhook-endpoints/${s}`)),
    withMethod(['POST', 'GET'], fc.tuple(segment, fc.constantFrom('disable', 'rotate-secret')).map(([s, what]) => `/webhook-endpoints/${s}/${what}`)),
    withMethod(['POST', 'GET'], segment.map((s) => `/webhook-deliveries/${s}/redeliver`)),
    get(fc.tuple(queryValue, queryValue, queryValue).map(([a, b, c]) => `/webhook-deliveries?status=${a}&endpoint_id=${b}&limit=${c}`)),
    get(fc.tuple(queryValue, queryValue).map(([a, b]) => `/reconciliation/runs?limit=${a}&schedule_id=${b}&schedule_id=${a}`)),
    withMethod(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'PATCH'], fc.constantFrom('/healthz', '/metrics', '/checkout', '/payments', '/', '*', '/payments/', '//checkout')),
    withMethod(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'], fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`)),
    // a webhook endpoint body that is never valid (its events never are), so nothing is created in the shared database
    fc
      .record({
        url: fc.oneof(fuzzText, fc.constantFrom('http://127.0.0.1:9/\u0000', 'http://127.0.0.1:9/hook', 'ftp://x', '')),
        events: fc.oneof(fc.constant([]), fc.array(fuzzText.filter((e) => !WEBHOOK_EVENTS.includes(e)), { minLength: 1, maxLength: 3 })),
      })
      .chain((o) =>
        fc.tuple(bodyOf(fc.constant(o)), contentType).map(([body, type]) => ({
          method: 'POST',
          path: '/webhook-endpoints',
          headers: type ? { 'content-type': type } : ({} as Record<string, string>),
          body: body.bytes,
        })),
      ),
  );
}

function checkoutRequest(prefix: string): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      body: bodyOf(checkoutObject),
      type: contentType,
      encoding: contentEncoding,
      key: keyHeader(prefix),
      path: fc.oneof({ weight: 30, arbitrary: fc.constant('/checkout') }, { weight: 1, arbitrary: fc.constantFrom('/checkout/', '/CHECKOUT', '/checkout?x=%00', '/checkout?%E0=1', '/checkout%00') }),
      accept: rarely(fc.constantFrom('application/json', 'text/html', '*/*', 'x'), 5),
      expect: rarely(fc.constantFrom('100-continue', 'nothing'), 30),
      chunked: fc.boolean(),
    })
    .map(({ body, type, encoding, key, path, accept, expect, chunked }) => {
      const headers: Record<string, string> = {};
      if (type) headers['content-type'] = type;
      if (key !== undefined) headers['idempotency-key'] = key;
      if (accept !== null) headers.accept = accept;
      if (expect !== null) headers.expect = expect;
      if (chunked) headers['transfer-encoding'] = 'chunked';
      let bytes = body.bytes;
      // a declared encoding is honoured (a valid request), except the unknown ones
      if (encoding !== undefined) {
        headers['content-encoding'] = encoding;
        if (encoding === 'gzip') bytes = zlib.gzipSync(bytes);
        else if (encoding === 'deflate') bytes = zlib.deflateSync(bytes);
        else if (encoding === 'br') bytes = zlib.brotliCompressSync(bytes);
      }
      // JSON, whatever other parameters say, as long as a charset, if any, is UTF-8
      const [media = '', ...params] = type.split(';');
      const jsonType =
        media.trim().toLowerCase() === 'application/json' && params.every((p) => !/^\s*charset\s*=/i.test(p) || /^\s*charset\s*=\s*"?utf-8"?\s*$/i.test(p));
      const known = encoding === undefined || ['gzip', 'deflate', 'br', 'identity'].includes(encoding);
      // the query of a checkout is not read, but a NUL anywhere in the URL is refused
      const sane = ['/checkout', '/checkout/', '/CHECKOUT', '/checkout?%E0=1'].includes(path);
      const keyOk = key !== undefined && /^[\x21-\x7e]{1,255}$/.test(key);
      const valid = jsonType && known && sane && keyOk && expect !== 'nothing' ? validCheckoutBody(body.json) : undefined;
      return { method: 'POST', path, headers, body: bytes, checkout: { key: keyOk ? key : undefined, valid } };
    });
}

/** The request list: checkouts mostly, other routes too, and now and then an exact copy of an earlier request. */
function drawRequests(prefix: string): FuzzRequest[] {
  const one = fc.record({
    request: fc.oneof({ weight: 1, arbitrary: checkoutRequest(prefix) }, { weight: 1, arbitrary: otherRequest() as fc.Arbitrary<FuzzRequest> }),
    copyOf: rarely(fc.nat(), 12),
  });
  const drawn = fc.sample(one, { seed: SEED, numRuns: RUNS });
  const requests: FuzzRequest[] = [];
  for (const [i, d] of drawn.entries()) requests.push(d.copyOf !== null && i > 0 ? (requests[d.copyOf % i] as FuzzRequest) : d.request);
  return requests;
}

// ---- sending ------------------------------------------------------------------------------

interface Answer {
  /** HTTP status, or 'no answer: ...' when none came. */
  status: number | string;
  body: string;
}

function send(agent: http.Agent, port: number, r: FuzzRequest): Promise<Answer> {
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      req = http.request(
        { host: '127.0.0.1', port, method: r.method, path: r.path, headers: r.headers, agent, timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (err) => resolve({ status: `no answer: ${err.message}`, body: '' }));
        },
      );
    } catch (err) {
      // Node's own client refuses to send it (a character it will not put on the wire): not the api's business
      resolve({ status: `unsendable: ${(err as { code?: string }).code ?? (err as Error).message}`, body: '' });
      return;
    }
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve({ status: `no answer: ${err.message}`, body: '' }));
    req.end(r.body);
  });
}

function describeRequest(r: FuzzRequest): string {
  return JSON.stringify({ method: r.method, path: r.path, headers: r.headers, body: r.body?.toString('base64') });
}

describe('api fuzz', () => {
  it(`${RUNS} random requests (seed ${SEED}): never a 5xx, never a charge for anything but a valid checkout`, { timeout: 240_000 }, async () => {
    const prefix = `fz${crypto.randomUUID().slice(0, 6)}-`;
    const requests = drawRequests(prefix);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const answers: Answer[] = new Array(requests.length);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const i = next++;
          answers[i] = await send(agent, stack.api.port, requests[i] as FuzzRequest);
        }
      }),
    );
    agent.destroy();
    const sendingMs = performance.now() - started;

    const counts: Record<string, number> = {};
    for (const a of answers) {
      const label = typeof a.status === 'number' ? String(a.status) : a.status.replace(/:.*/, '');
      counts[label] = (counts[label] ?? 0) + 1;
    }

    // per request: no 5xx and an answer to everything sent; 2xx only for a valid checkout
    const problems: string[] = [];
    requests.forEach((r, i) => {
      const a = answers[i] as Answer;
      const why =
        typeof a.status === 'string'
          ? a.status.startsWith('unsendable')
            ? undefined
            : a.status
          : a.status >= 500
            ? `${a.status} ${a.body.slice(0, 200)}`
            : r.checkout && a.status >= 200 && a.status < 300 && !r.checkout.valid
              ? `${a.status} for a checkout the contract calls invalid: ${a.body.slice(0, 200)}`
              : undefined;
      if (why) problems.push(`#${i} ${why}\n    ${describeRequest(r)}`);
    });

    // the side effects: wait until this run's payments are final, then compare with the stub's charges
    const keysOf = (pred: (a: Answer, r: FuzzRequest) => boolean) =>
      new Set(requests.flatMap((r, i) => (r.checkout?.key !== undefined && pred(answers[i] as Answer, r) ? [r.checkout.key] : [])));
    const completedAnswer = (a: Answer) => (a.status === 201 || a.status === 200) && a.body.includes('"status":"completed"');
    const answeredCompleted = keysOf((a) => completedAnswer(a));
    const accepted = keysOf((a) => a.status === 202);
    const settleBy = Date.now() + 60_000;
    for (;;) {
      const pending = await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE idempotency_key LIKE $1 AND status = 'pending'`, [
        `${prefix}%`,
      ]);
      if (pending.rows[0]?.n === 0 || Date.now() > settleBy) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const completedLater = new Set(
      (
        await stack.pool.query<{ idempotency_key: string }>(`SELECT idempotency_key FROM payments WHERE idempotency_key = ANY($1) AND status = 'completed'`, [
          [...accepted],
        ])
      ).rows.map((row) => row.idempotency_key),
    );
    const expectedCharged = new Set([...answeredCompleted, ...completedLater]);
    const charges = (await stubCharges(stack.stub)).filter((c) => c.idempotency_key.startsWith(checkoutWorkflowId(stack.merchant.merchantId, prefix)));
    const chargedKeys = charges.map((c) => c.idempotency_key.slice('checkout-'.length, -':charge'.length));
    const validBodies = new Map<string, CheckoutBody[]>();
    requests.forEach((r, i) => {
      const a = answers[i] as Answer;
      if (r.checkout?.key !== undefined && r.checkout.valid && typeof a.status === 'number' && a.status >= 200 && a.status < 300) {
        validBodies.set(r.checkout.key, [...(validBodies.get(r.checkout.key) ?? []), r.checkout.valid]);
      }
    });
    for (const c of charges) {
      const key = c.idempotency_key.slice('checkout-'.length, -':charge'.length);
      const bodies = validBodies.get(key) ?? [];
      if (!bodies.some((b) => b.amount_cents === c.amount_cents && b.currency === c.currency)) {
        problems.push(`charge ${c.id} (${c.amount_cents} ${c.currency}) under key ${key} matches no valid checkout answered 2xx with that key`);
      }
    }
    if (new Set(chargedKeys).size !== chargedKeys.length) problems.push(`${chargedKeys.length - new Set(chargedKeys).size} keys were charged more than once`);
    const missing = [...expectedCharged].filter((k) => !chargedKeys.includes(k));
    const extra = chargedKeys.filter((k) => !expectedCharged.has(k));
    if (missing.length > 0) problems.push(`${missing.length} keys answered completed have no charge: ${missing.slice(0, 5).join(', ')}`);
    if (extra.length > 0) problems.push(`${extra.length} charges for keys never answered completed: ${extra.slice(0, 5).join(', ')}`);

    const sorted = Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
    console.log(
      `api fuzz: seed ${SEED}, ${requests.length} requests sent in ${(sendingMs / 1000).toFixed(1)} s, by status ${JSON.stringify(sorted)}; ` +
        `${charges.length} charges = ${answeredCompleted.size} keys answered completed + ${completedLater.size} completed after a 202; 5xx: ${Object.entries(counts)
          .filter(([s]) => s.startsWith('5'))
          .reduce((n, [, c]) => n + c, 0)}`,
    );
    expect(problems, `replay with API_FUZZ_SEED=${SEED} API_FUZZ_RUNS=${RUNS}\n${problems.slice(0, 20).join('\n')}`).toEqual([]);
  });
});
