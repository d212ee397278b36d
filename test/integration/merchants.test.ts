// Merchants and API keys, black-box over HTTP against the real stack: every
// route needs a key, and one merchant's key reaches nothing of another's.
// The routes are read from the api's own router, so a route added later is
// walked too (and a new route with a parameter must say which object it names).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../api/build';
import { checkoutWorkflowId } from '../../domain/ids';
import { bearer, createTestKey, createTestMerchant, type TestMerchant } from '../support/merchants';
import { appRoutes, type AppRoute } from '../support/routes';
import { checkoutBody, postCheckout, startTestStack, stubCharges, testApiConfig, testLogger, uniqueKey, type TestStack } from '../support/stack';

/** Routes anyone may call: what load balancers probe (and, later, the API documentation). */
// and the codec's CORS preflights, which a browser sends without a key (it refuses any origin but the Web UI's)
const OPEN_ROUTES = new Set(['GET /healthz', 'GET /readyz', 'GET /openapi.json', 'GET /docs', 'OPTIONS /codec/decode', 'OPTIONS /codec/encode']);
/** Operator routes: admin keys only. */
const isOperatorRoute = (r: AppRoute) => r.path.startsWith('/admin/') || r.path.startsWith('/reconciliation/') || r.path.startsWith('/codec/');

let stack: TestStack;
let routes: AppRoute[];
let a: TestMerchant;
let b: TestMerchant;
let receiver: http.Server;
let receiverUrl: string;
const received: string[] = [];
/** A's objects, made through the api as A would */
const mine = { paymentId: '', idempotencyKey: '', endpointId: '', deliveryId: '' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field
async function call(method: string, path: string, apiKey: string | undefined, body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = { ...(apiKey ? bearer(apiKey) : {}), ...extra };
  if (method !== 'GET' && method !== 'HEAD') headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.api.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  stack = await startTestStack({ webhooks: { dispatchIntervalMs: 200 } });
  routes = appRoutes(buildApi(testApiConfig(), { client: stack.client, pool: stack.pool, logger: testLogger }).app);
  a = stack.merchant;
  b = await createTestMerchant(stack.pool, 'merchant B');

  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const endpoint = await call('POST', '/webhook-endpoints', a.apiKey, { url: receiverUrl, events: ['payment.completed'] });
  expect(endpoint.status, endpoint.text).toBe(201);
  mine.endpointId = endpoint.body.id;
  mine.idempotencyKey = uniqueKey('order');
  const checkout = await postCheckout(stack.api, mine.idempotencyKey, checkoutBody({ customer_id: 'cust_a' }));
  expect(checkout.status).toBe(201);
  mine.paymentId = checkout.body.payment_id;
  // delivered, so nothing about it changes on its own while B tries things
  mine.deliveryId = await until('A’s delivery', async () => {
    const list = await call('GET', '/webhook-deliveries', a.apiKey);
    const data = list.body.data as Array<{ id: string; payment_id?: string; status: string }> | undefined;
    return data?.find((d) => d.payment_id === mine.paymentId && d.status === 'delivered')?.id;
  });
});

afterAll(async () => {
  receiver?.close();
  await stack?.stop();
});

/** Another api instance on the stack's parts, with some settings of its own. */
async function apiWith(env: Record<string, string>) {
  return buildApi(testApiConfig({ TEMPORAL_TASK_QUEUE: stack.taskQueue, ...env }), { client: stack.client, pool: stack.pool, logger: testLogger }).listen(0);
}

/** The route's path with A's object in each parameter. */
function pathToAs(route: AppRoute): string {
  return route.path.replace(/:(\w+)/g, (_match, name: string) => {
    if (name === 'paymentId') return mine.paymentId;
    if (name === 'id' && route.path.startsWith('/webhook-endpoints/')) return mine.endpointId;
    if (name === 'id' && route.path.startsWith('/webhook-deliveries/')) return mine.deliveryId;
    throw new Error(`${route.method} ${route.path}: which of A's objects does :${name} name? Add it to this test.`);
  });
}

/** A body the route would accept, so a refusal is about who asks, not what they sent. */
function bodyFor(route: AppRoute): unknown {
  if (route.method === 'GET' || route.method === 'DELETE') return undefined;
  if (route.path === '/checkout') return checkoutBody({ customer_id: 'cust_b' });
  if (route.path === '/webhook-endpoints') return { url: receiverUrl, events: ['payment.completed'] };
  return {};
}

/** The route's path naming objects that never existed, in each parameter. */
function pathToNothing(route: AppRoute): string {
  return route.path.replace(/:(\w+)/g, (_match, name: string) => `${name}_never_existed`);
}

/** What A sees of its own things: unchanged by anything B tries. */
async function asView(): Promise<unknown> {
  const [payment, endpoint, deliveries] = await Promise.all([
    call('GET', `/payments/${mine.paymentId}`, a.apiKey),
    call('GET', `/webhook-endpoints/${mine.endpointId}`, a.apiKey),
    call('GET', '/webhook-deliveries', a.apiKey),
  ]);
  return { payment: payment.body, endpoint: endpoint.body, delivery: deliveries.body.data.find((d: { id: string }) => d.id === mine.deliveryId) };
}

describe('every route needs a key', () => {
  it('the router has the routes this file walks', () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    expect(names).toEqual(expect.arrayContaining(['POST /checkout', 'GET /payments/:paymentId', 'POST /webhook-endpoints', 'GET /reconciliation/runs']));
    console.log(`routes walked (${routes.length}):\n  ${names.join('\n  ')}`);
  });

  it('no key: 401 with WWW-Authenticate: Bearer on every route but the open ones, and nothing happens', async () => {
    const before = await asView();
    const answers: string[] = [];
    for (const route of routes) {
      const res = await call(route.method, pathToAs(route), undefined, bodyFor(route), route.path === '/checkout' ? { 'idempotency-key': uniqueKey('nokey') } : {});
      answers.push(`${route.method} ${route.path} → ${res.status}`);
      if (OPEN_ROUTES.has(`${route.method} ${route.path}`)) {
        expect(res.status, `${route.method} ${route.path}`).not.toBe(401);
        continue;
      }
      expect(res.status, `${route.method} ${route.path}: ${res.text}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(res.body.error.code).toBe('api_key_missing');
    }
    console.log(`without a key:\n  ${answers.join('\n  ')}`);
    expect(await asView()).toEqual(before);
  });

  it('a key that is not one, or is in the wrong header shape, is 401 api_key_invalid and says nothing about which part was wrong', async () => {
    const wrong = [
      `${a.apiKey.slice(0, -1)}${a.apiKey.endsWith('A') ? 'B' : 'A'}`, // the right prefix, a wrong secret part
      'sk_test_' + 'x'.repeat(43),
      'not-a-key',
    ];
    const bodies = new Set<string>();
    for (const key of wrong) {
      const res = await call('GET', `/payments/${mine.paymentId}`, key);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
      bodies.add(res.text);
    }
    const basic = await fetch(`${stack.api.url}/payments/${mine.paymentId}`, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    expect(basic.status).toBe(401);
    bodies.add(await basic.text());
    expect([...bodies]).toEqual([JSON.stringify({ error: { code: 'api_key_invalid', message: 'the API key is not valid' } })]);
  });
});

describe("merchant B's key reaches nothing of merchant A's", () => {
  it("walks every route with B's key: A's objects are 404, lists hold none of A's, operator routes are 403, and A's things are unchanged", async () => {
    const before = await asView();
    const aIds = [mine.paymentId, mine.endpointId, mine.deliveryId];
    const matrix: string[] = [];
    let refused = 0;
    for (const route of routes) {
      if (OPEN_ROUTES.has(`${route.method} ${route.path}`)) continue;
      const extra: Record<string, string> = route.path === '/checkout' || route.path.endsWith('/rotate-secret') ? { 'idempotency-key': mine.idempotencyKey } : {};
      const path = pathToAs(route);
      const res = await call(route.method, path, b.apiKey, bodyFor(route), extra);
      matrix.push(`${route.method} ${route.path} → ${res.status}${res.body?.error ? ` ${res.body.error.code}` : ''}`);
      // an id B itself put in the path may come back in the error; nothing else of A's may
      for (const id of aIds.filter((x) => !path.includes(x))) expect(res.text, `${route.method} ${route.path} showed ${id}`).not.toContain(id);
      if (isOperatorRoute(route)) {
        expect(res.status, `${route.method} ${route.path}`).toBe(403);
        refused += 1;
      } else if (route.path.includes(':')) {
        expect(res.status, `${route.method} ${route.path}: ${res.text}`).toBe(404);
        expect(res.body.error.code).toBe('not_found');
        // word for word what an object that never existed gets: nothing says A's exists
        const never = await call(route.method, pathToNothing(route), b.apiKey, bodyFor(route), extra);
        const neutral = (text: string) => [...aIds, ...Array.from(route.path.matchAll(/:(\w+)/g), (m) => `${m[1]}_never_existed`)].reduce((t, id) => t.split(id).join('<id>'), text);
        expect(neutral(res.text)).toBe(neutral(never.text));
        refused += 1;
      } else {
        // B's own list, or B's own new object: fine, as long as none of A's shows
        expect(res.status, `${route.method} ${route.path}: ${res.text}`).toBeLessThan(300);
      }
    }
    console.log(`with merchant B's key, against merchant A's objects (${refused} refused):\n  ${matrix.join('\n  ')}`);
    expect(refused).toBeGreaterThanOrEqual(7);
    expect(await asView()).toEqual(before);
  });

  it("B may use the Idempotency-Key A used: two payments, two charges, each merchant's answer its own", async () => {
    const key = uniqueKey('order-42');
    const forA = await postCheckout(stack.api, key, checkoutBody({ customer_id: 'cust_a', amount_cents: 1111 }));
    const forB = await postCheckout({ url: stack.api.url, apiKey: b.apiKey }, key, checkoutBody({ customer_id: 'cust_b', amount_cents: 2222 }));
    expect([forA.status, forB.status]).toEqual([201, 201]);
    expect(forA.body.payment_id).not.toBe(forB.body.payment_id);
    expect(forB.body.amount_cents).toBe(2222);
    const charges = await stubCharges(stack.stub);
    expect(charges.filter((c) => c.idempotency_key === `${checkoutWorkflowId(a.merchantId, key)}:charge`)).toHaveLength(1);
    expect(charges.filter((c) => c.idempotency_key === `${checkoutWorkflowId(b.merchantId, key)}:charge`)).toHaveLength(1);
    // each reads only its own
    expect((await call('GET', `/payments/${forA.body.payment_id}`, b.apiKey)).status).toBe(404);
    expect((await call('GET', `/payments/${forB.body.payment_id}`, b.apiKey)).status).toBe(200);
  });

  it("the workflow carries its merchant: in its ID and in the MerchantId search attribute", async () => {
    const described = await stack.client.workflow.getHandle(checkoutWorkflowId(a.merchantId, mine.idempotencyKey)).describe();
    expect(described.workflowId).toBe(`checkout-${a.merchantId}-${mine.idempotencyKey}`);
    expect(described.searchAttributes.MerchantId).toEqual([a.merchantId]);
  });
});

describe('key kinds', () => {
  it('a restricted key reads its merchant’s things and may change nothing (403)', async () => {
    const restricted = (await createTestKey(stack.pool, a.merchantId, 'restricted')).apiKey;
    expect((await call('GET', `/payments/${mine.paymentId}`, restricted)).status).toBe(200);
    expect((await call('GET', '/webhook-endpoints', restricted)).status).toBe(200);
    const write = await postCheckout({ url: stack.api.url, apiKey: restricted }, uniqueKey('restricted'), checkoutBody());
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('api_key_read_only');
    expect((await call('POST', `/webhook-endpoints/${mine.endpointId}/disable`, restricted, {})).status).toBe(403);
  });

  it('an admin key reaches operator routes and no merchant route', async () => {
    const admin = (await createTestKey(stack.pool, null, 'admin')).apiKey;
    expect((await call('GET', '/reconciliation/runs', admin)).status).toBe(200);
    const payment = await call('GET', `/payments/${mine.paymentId}`, admin);
    expect(payment.status).toBe(403);
    expect(payment.body.error.code).toBe('merchant_key_required');
  });
});

describe('keys at rest and over time', () => {
  it('the database holds no key in clear: only its hash and public prefix', async () => {
    const rows = await stack.pool.query<{ row: string }>('SELECT row_to_json(k)::text AS row FROM api_keys k WHERE merchant_id = $1', [a.merchantId]);
    expect(rows.rows.length).toBeGreaterThanOrEqual(1);
    const secretPart = a.apiKey.slice('sk_test_'.length + 12);
    for (const { row } of rows.rows) {
      expect(row).not.toContain(a.apiKey);
      expect(row).not.toContain(secretPart);
    }
    const prefix = await stack.pool.query<{ prefix: string; hash_bytes: number }>(
      'SELECT prefix, octet_length(hash) AS hash_bytes FROM api_keys WHERE id = $1',
      [a.keyId],
    );
    expect(prefix.rows[0]).toEqual({ prefix: a.apiKey.slice(0, 'sk_test_'.length + 12), hash_bytes: 32 });
  });

  it('a revoked key stops working at the next request; an expired key is refused', async () => {
    const { apiKey, keyId } = await createTestKey(stack.pool, a.merchantId, 'secret');
    expect((await call('GET', `/payments/${mine.paymentId}`, apiKey)).status).toBe(200);
    await stack.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [keyId]);
    const revoked = await call('GET', `/payments/${mine.paymentId}`, apiKey);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe('api_key_revoked');

    const expired = (await createTestKey(stack.pool, a.merchantId, 'secret', { expiresAt: new Date(Date.now() - 1_000) })).apiKey;
    const answer = await call('GET', `/payments/${mine.paymentId}`, expired);
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('api_key_expired');
  });

  it('repeated refused keys from one address are throttled: 429 + Retry-After, even for a good key from there', async () => {
    const api = await apiWith({ AUTH_FAILURES_PER_MINUTE: '5' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i += 1) {
        statuses.push((await fetch(`${api.url}/payments/x`, { headers: bearer(`sk_test_${'y'.repeat(43)}`) })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      const good = await fetch(`${api.url}/payments/${mine.paymentId}`, { headers: bearer(a.apiKey) });
      expect(good.status).toBe(429);
      expect(Number(good.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // a request with no key at all is not a guess: it does not count
      expect((await fetch(`${stack.api.url}/payments/x`)).status).toBe(401);
    } finally {
      await api.close();
    }
  });

  it('a key has its own rate of new checkouts, whatever customer_id says', async () => {
    const api = await apiWith({ KEY_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const { apiKey } = await createTestKey(stack.pool, a.merchantId, 'secret');
      const answers = [];
      for (let i = 0; i < 4; i += 1) {
        answers.push(await postCheckout({ url: api.url, apiKey }, uniqueKey('card-testing'), checkoutBody({ customer_id: uniqueKey('cust') })));
      }
      expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 429]);
      expect(answers[3]?.body.error.message).toMatch(/this API key has reached 3 new checkouts per minute/);
      expect(Number(answers[3]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await api.close();
    }
  });
});
