// Webhooks end to end on the real dev server: the api registers endpoints, a
// checkout commits its payment and its event together, the dispatcher starts
// the delivery workflow, and a real local receiver verifies what it gets.
// Two merchants, A (the stack's) and B, each with its own key: neither can
// see, change or receive anything of the other's.
//
// Every URL a delivery could reach is a 127.0.0.1 listener of this file (or
// 127.0.0.1:9, where nothing listens); hostile URLs are only ever text the
// registration check refuses without connecting.
import type { ResolveHost } from '../../outbound/webhook-target';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, type ListeningApi } from '../../api/build';
import { webhookDeliveryWorkflowId, webhookTaskQueue } from '../../domain/webhooks';
import { createWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../webhook-receiver/receiver';
import { bearer, createTestKey, createTestMerchant, type TestMerchant } from '../support/merchants';
import { checkoutBody, postCheckout, postCheckoutUntilFinal, startTestStack, testApiConfig, testLogger, uniqueKey, type TestStack } from '../support/stack';

let stack: TestStack;
let merchantB: TestMerchant;
let adminKey: string;
const receivers: WebhookReceiver[] = [];
const closers: Array<() => Promise<void>> = [];
// [api key, endpoint id] of every endpoint made here, deleted at the end
const endpointIds: Array<[string, string]> = [];

// short waits between attempts, so a dead letter is reached in about two seconds
const RETRY_DELAYS_MS = [200, 500, 1_000];
// where nothing listens: endpoints that must never get a delivery point here
const NOWHERE = 'http://127.0.0.1:9/hooks';

beforeAll(async () => {
  stack = await startTestStack({ webhooks: { retryDelaysMs: RETRY_DELAYS_MS, dispatchIntervalMs: 200 } });
  merchantB = await createTestMerchant(stack.pool, 'webhooks merchant B');
  adminKey = (await createTestKey(stack.pool, null, 'admin')).apiKey;
});

afterAll(async () => {
  // test files share the database: leave no endpoint for later events to fan out to
  for (const [key, id] of endpointIds) await call(key, 'DELETE', `/webhook-endpoints/${id}`);
  for (const r of receivers) await r.close();
  for (const close of closers) await close();
  await stack?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field
type Answer = { status: number; headers: Headers; body: any };

/** One request with a key; every write says it is JSON, as require-json.ts asks. */
async function call(key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, url = stack.api.url): Promise<Answer> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...bearer(key), ...(method === 'GET' ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** As merchant A, the stack's own merchant. */
const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(stack.api.apiKey, method, path, body, headers);
/** As merchant B. */
const asB = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(merchantB.apiKey, method, path, body, headers);

async function createEndpoint(key: string, url: string, events: string[]): Promise<Answer> {
  const created = await call(key, 'POST', '/webhook-endpoints', { url, events });
  if (created.status === 201) endpointIds.push([key, created.body.id]);
  return created;
}

/** Registers an endpoint through the api and starts a receiver holding the secret it was shown. */
async function registerReceiver(events: string[], key = stack.api.apiKey): Promise<{ id: string; secret: string; receiver: WebhookReceiver }> {
  // the url must be known before the secret: take a port, then register
  const placeholder = createWebhookReceiver({ secret: 'whsec_cGxhY2Vob2xkZXI=' });
  const url = await placeholder.listen(0);
  await placeholder.close();
  const created = await createEndpoint(key, url, events);
  expect(created.status).toBe(201);
  const receiver = createWebhookReceiver({ secret: created.body.secret });
  await receiver.listen(Number(new URL(url).port));
  receivers.push(receiver);
  return { id: created.body.id, secret: created.body.secret, receiver };
}

/** A loopback listener that keeps every request's headers and raw body, to verify signatures with any secret. */
async function captureServer(): Promise<{ url: string; requests: Array<{ headers: Record<string, string>; body: string }> }> {
  const requests: Array<{ headers: Record<string, string>; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, requests };
}

/** Another api beside the stack's, on its Temporal and Postgres, with some settings changed. */
async function anotherApi(env: Record<string, string>, resolveHost?: ResolveHost): Promise<ListeningApi> {
  const config = testApiConfig({ TEMPORAL_TASK_QUEUE: stack.taskQueue, ...env });
  const api = await buildApi(config, { client: stack.client, pool: stack.pool, logger: testLogger, resolveHost }).listen(0);
  closers.push(() => api.close());
  return api;
}

/** Polls until predicate holds; fails the test with `what` after timeoutMs (a bound on waiting, not a timing assertion). */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function receivedFor(receiver: WebhookReceiver, paymentId: string, type: string): ReceivedWebhook[] {
  return receiver.received.filter((w) => w.paymentId === paymentId && w.type === type);
}

async function eventDispatched(paymentId: string): Promise<void> {
  await waitFor(`the event of ${paymentId} dispatched`, async () => {
    const res = await stack.pool.query<{ dispatched_at: Date | null }>('SELECT dispatched_at FROM webhook_events WHERE payment_id = $1', [paymentId]);
    return res.rows[0]?.dispatched_at ?? undefined;
  });
}

/** What a merchant's webhook rows are, to show a refused request changed none of them. */
async function webhookRowsOf(merchantId: string): Promise<unknown> {
  const res = await stack.pool.query(
    `SELECT (SELECT json_agg(e ORDER BY e.id) FROM webhook_endpoints e WHERE e.merchant_id = $1) AS endpoints,
            (SELECT json_agg(s ORDER BY s.id) FROM webhook_endpoint_secrets s JOIN webhook_endpoints e ON e.id = s.endpoint_id WHERE e.merchant_id = $1) AS secrets,
            (SELECT json_agg(r ORDER BY r.idempotency_key) FROM webhook_secret_rotations r WHERE r.merchant_id = $1) AS rotations,
            (SELECT json_agg(d ORDER BY d.id) FROM webhook_deliveries d WHERE d.merchant_id = $1) AS deliveries,
            (SELECT count(*)::int FROM webhook_redeliveries r WHERE r.merchant_id = $1) AS redeliveries`,
    [merchantId],
  );
  return res.rows[0];
}

/** One endpoint's row and secrets, and one delivery's row with its redeliveries. */
async function rowsOf(endpointId: string | null, deliveryId: string | null): Promise<unknown> {
  const res = await stack.pool.query(
    `SELECT (SELECT row_to_json(e) FROM webhook_endpoints e WHERE e.id = $1) AS endpoint,
            (SELECT json_agg(s ORDER BY s.id) FROM webhook_endpoint_secrets s WHERE s.endpoint_id = $1) AS secrets,
            (SELECT row_to_json(d) FROM webhook_deliveries d WHERE d.id = $2) AS delivery,
            (SELECT json_agg(r ORDER BY r.redelivery) FROM webhook_redeliveries r WHERE r.delivery_id = $2) AS redeliveries`,
    [endpointId, deliveryId],
  );
  return res.rows[0];
}

async function secretCount(endpointId: string): Promise<number> {
  const res = await stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_endpoint_secrets WHERE endpoint_id = $1', [endpointId]);
  return res.rows[0]?.n ?? 0;
}

describe('webhook endpoints api', () => {
  it('refuses bad input with a clear 4xx naming the field, unknown ids with a 404, and changes nothing', async () => {
    const existing = await createEndpoint(stack.api.apiKey, NOWHERE, ['payment.failed']);
    const before = await webhookRowsOf(stack.merchant.merchantId);

    expect(await api('POST', '/webhook-endpoints', { url: 'ftp://example.com/hook', events: ['payment.completed'] })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', field: 'url' } },
    });
    expect(await api('POST', '/webhook-endpoints', { url: NOWHERE, events: ['payment.exploded'] })).toMatchObject({
      status: 400,
      body: { error: { field: 'events.0' } },
    });
    expect(await api('POST', '/webhook-endpoints', { url: NOWHERE, events: [] })).toMatchObject({ status: 400 });
    expect(await api('POST', '/webhook-endpoints', { url: NOWHERE, events: ['payment.failed'], extra: 1 })).toMatchObject({
      status: 400,
      body: { error: { field: 'extra' } },
    });
    expect(await api('POST', '/webhook-endpoints', 'just a string')).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    // a form or text/plain POST from a web page never reaches the route
    const plain = await fetch(`${stack.api.url}/webhook-endpoints`, {
      method: 'POST',
      headers: { ...bearer(stack.api.apiKey), 'content-type': 'text/plain' },
      body: JSON.stringify({ url: NOWHERE, events: ['payment.failed'] }),
    });
    expect(plain.status).toBe(415);
    expect((await api('GET', '/webhook-deliveries?status=lost')).status).toBe(400);
    expect((await api('GET', '/webhook-deliveries?limit=0')).status).toBe(400);
    expect((await call(adminKey, 'GET', '/admin/webhook-deliveries?status=lost')).status).toBe(400);
    expect(await api('POST', `/webhook-endpoints/${existing.body.id}/rotate-secret`, undefined, { 'idempotency-key': 'x'.repeat(256) })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_idempotency_key', field: 'Idempotency-Key' } },
    });
    for (const [method, path] of [
      ['GET', '/webhook-endpoints/we_nope'],
      ['POST', '/webhook-endpoints/we_nope/disable'],
      ['DELETE', '/webhook-endpoints/we_nope'],
      ['POST', '/webhook-endpoints/we_nope/rotate-secret'],
      ['POST', '/webhook-deliveries/whd_nope/redeliver'],
    ] as const) {
      expect((await api(method, path)).status, `${method} ${path}`).toBe(404);
    }

    expect(await webhookRowsOf(stack.merchant.merchantId)).toEqual(before);
    expect((await api('DELETE', `/webhook-endpoints/${existing.body.id}`)).status).toBe(204);
  });

  it('refuses unsafe URLs with 400 naming url and the reason, and stores nothing', async () => {
    const before = await webhookRowsOf(stack.merchant.merchantId);
    // Internal addresses appear only behind .invalid names (RFC 6761: they never
    // resolve), which this api's injected resolver maps to them: were the guard
    // wrong, a stored endpoint still could not be reached from this machine.
    const hostile: ResolveHost = async (host) => {
      const address = { 'metadata.invalid': '169.254.169.254', 'linklocal.invalid': 'fe80::1', 'private.invalid': '10.0.0.8' }[host];
      if (address === undefined) throw Object.assign(new Error(`no such host ${host}`), { code: 'ENOTFOUND' });
      return [{ address, family: address.includes(':') ? 6 : 4 }];
    };
    // this api allows private networks, as the stack does
    const lenient = await anotherApi({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1' }, hostile);
    const refusals: Array<[string, RegExp]> = [
      // always refused, private networks allowed or not
      ['http://metadata.invalid/latest', /^url: metadata\.invalid resolves to 169\.254\.169\.254, the cloud metadata address, which is never allowed$/],
      ['http://linklocal.invalid/hooks', /^url: linklocal\.invalid resolves to fe80::1, a link-local address .*never allowed$/],
      ['http://0.0.0.0:3000/hooks', /never allowed$/],
      ['http://merchant:hunter2@127.0.0.1:9/hooks', /^url: contains credentials/],
    ];
    for (const [url, reason] of refusals) {
      const answer = await call(stack.api.apiKey, 'POST', '/webhook-endpoints', { url, events: ['payment.completed'] }, {}, lenient.url);
      expect(answer, url).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'url' } } });
      expect(answer.body.error.message, url).toMatch(reason);
    }
    // with WEBHOOK_ALLOW_PRIVATE_NETWORKS off (production's default), internal addresses and plain http too
    const strict = await anotherApi({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: '0' }, hostile);
    for (const [url, reason] of [
      ['http://127.0.0.1:5433/', /^url: 127\.0\.0\.1 is a loopback address, allowed only when WEBHOOK_ALLOW_PRIVATE_NETWORKS=1$/],
      ['https://[::1]:7233/', /^url: ::1 is a loopback address/],
      ['https://private.invalid/hooks', /^url: private\.invalid resolves to 10\.0\.0\.8, a private network address \(RFC 1918\)/],
      ['http://metadata.invalid/latest', /never allowed$/],
    ] as const) {
      const answer = await call(stack.api.apiKey, 'POST', '/webhook-endpoints', { url, events: ['payment.completed'] }, {}, strict.url);
      expect(answer, url).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'url' } } });
      expect(answer.body.error.message, url).toMatch(reason);
    }
    expect(await webhookRowsOf(stack.merchant.merchantId)).toEqual(before);
  });

  it('shows the secret once: at creation and at rotation, never in the list', async () => {
    const created = await createEndpoint(stack.api.apiKey, NOWHERE, ['payment.refunded']);
    expect(created).toMatchObject({ status: 201, body: { url: NOWHERE, events: ['payment.refunded'], status: 'active', previous_secret_expires_at: null } });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);
    const list = await api('GET', '/webhook-endpoints');
    const listed = list.body.data.find((e: { id: string }) => e.id === created.body.id);
    expect(listed).toMatchObject({ id: created.body.id, status: 'active' });
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    const rotated = await api('POST', `/webhook-endpoints/${created.body.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(Date.parse(rotated.body.previous_secret_expires_at)).toBeGreaterThan(Date.now());
    expect(JSON.stringify((await api('GET', `/webhook-endpoints/${created.body.id}`)).body)).not.toContain('whsec_');
    expect(await api('POST', `/webhook-endpoints/${created.body.id}/disable`)).toMatchObject({ status: 200, body: { status: 'disabled' } });
    expect((await api('DELETE', `/webhook-endpoints/${created.body.id}`)).status).toBe(204);
    expect((await api('GET', `/webhook-endpoints/${created.body.id}`)).status).toBe(404);
    expect((await api('GET', '/webhook-endpoints')).body.data.map((e: { id: string }) => e.id)).not.toContain(created.body.id);
  });

  it('a rotation under an Idempotency-Key is made once: the same key replays the same secret; on another endpoint it is a 422', async () => {
    const x = await createEndpoint(stack.api.apiKey, NOWHERE, ['payment.completed']);
    const y = await createEndpoint(stack.api.apiKey, NOWHERE, ['payment.completed']);
    const key = uniqueKey('rotation');

    const first = await api('POST', `/webhook-endpoints/${x.body.id}/rotate-secret`, undefined, { 'idempotency-key': key });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await api('POST', `/webhook-endpoints/${x.body.id}/rotate-secret`, undefined, { 'idempotency-key': key });
    expect(again).toMatchObject({ status: 200, body: { id: x.body.id, secret: first.body.secret } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await secretCount(x.body.id)).toBe(2);

    expect(await api('POST', `/webhook-endpoints/${y.body.id}/rotate-secret`, undefined, { 'idempotency-key': key })).toMatchObject({
      status: 422,
      body: { error: { code: 'idempotency_key_reused', field: 'Idempotency-Key' } },
    });
    expect(await secretCount(y.body.id)).toBe(1);

    // at once with one key: one rotation, both answers carry its secret
    const concurrentKey = uniqueKey('rotation-race');
    const racing = await Promise.all(
      [1, 2, 3].map(() => api('POST', `/webhook-endpoints/${x.body.id}/rotate-secret`, undefined, { 'idempotency-key': concurrentKey })),
    );
    expect(racing.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set(racing.map((a) => a.body.secret)).size).toBe(1);
    expect(await secretCount(x.body.id)).toBe(3);

    // keys are each merchant's own: B's use of the same key is B's first
    const theirs = await createEndpoint(merchantB.apiKey, NOWHERE, ['payment.completed']);
    expect((await asB('POST', `/webhook-endpoints/${theirs.body.id}/rotate-secret`, undefined, { 'idempotency-key': key })).status).toBe(200);
    // nowhere to deliver to: gone before the end-to-end tests make events
    for (const id of [x.body.id, y.body.id]) expect((await api('DELETE', `/webhook-endpoints/${id}`)).status).toBe(204);
    expect((await asB('DELETE', `/webhook-endpoints/${theirs.body.id}`)).status).toBe(204);
  });

  it('a merchant has at most 16 endpoints (deleted ones not counted), even when it asks for more at once', async () => {
    const c = await createTestMerchant(stack.pool, 'webhooks merchant C, at the cap');
    const answers = await Promise.all(Array.from({ length: 18 }, () => createEndpoint(c.apiKey, NOWHERE, ['payment.completed'])));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(16);
    const refused = answers.filter((a) => a.status !== 201);
    expect(refused).toHaveLength(2);
    for (const answer of refused) expect(answer).toMatchObject({ status: 409, body: { error: { code: 'endpoint_limit_reached' } } });
    expect((await call(c.apiKey, 'GET', '/webhook-endpoints')).body.data).toHaveLength(16);

    const one = answers.find((a) => a.status === 201)?.body.id as string;
    expect((await call(c.apiKey, 'DELETE', `/webhook-endpoints/${one}`)).status).toBe(204);
    expect((await createEndpoint(c.apiKey, NOWHERE, ['payment.completed'])).status).toBe(201);
    expect((await createEndpoint(c.apiKey, NOWHERE, ['payment.completed'])).status).toBe(409);
  });

  it('operator routes need an admin key, and merchant routes a merchant key', async () => {
    expect(await api('GET', '/admin/webhook-deliveries?status=dead')).toMatchObject({ status: 403, body: { error: { code: 'admin_key_required' } } });
    expect(await call(adminKey, 'GET', '/webhook-endpoints')).toMatchObject({ status: 403, body: { error: { code: 'merchant_key_required' } } });
    expect((await fetch(`${stack.api.url}/webhook-endpoints`)).status).toBe(401);
  });
});

describe('webhooks out, end to end', () => {
  it('a completed checkout produces a delivered, verified payment.completed; a declined one a payment.failed', async () => {
    const { id: endpointId, receiver } = await registerReceiver(['payment.completed', 'payment.failed']);

    // a busy machine may answer 202 first: the client's same-key retry gets the final answer
    const paid = await postCheckoutUntilFinal(stack.api, uniqueKey('wh-paid'), checkoutBody({ amount_cents: 3141 }));
    expect(paid.body.status).toBe('completed');
    const declined = await postCheckoutUntilFinal(stack.api, uniqueKey('wh-declined'), checkoutBody({ payment_method_id: 'pm_declined' }));
    expect(declined.status).toBe(402);

    const [completed] = await waitFor('payment.completed at the receiver', () => {
      const got = receivedFor(receiver, paid.body.payment_id, 'payment.completed');
      return got.length > 0 ? got : undefined;
    });
    expect(completed?.firstTime).toBe(true);
    await waitFor('payment.failed at the receiver', () => receivedFor(receiver, declined.body.payment_id, 'payment.failed').length > 0 || undefined);
    // nothing arrived that the receiver could not verify
    expect(receiver.rejected).toEqual([]);

    const delivered = await waitFor('the delivery row marked delivered', async () => {
      const list = await api('GET', `/webhook-deliveries?status=delivered&endpoint_id=${endpointId}`);
      return list.body.data.find((d: { payment_id: string }) => d.payment_id === paid.body.payment_id);
    });
    expect(delivered).toMatchObject({ event_type: 'payment.completed', status: 'delivered', attempts: 1, last_status_code: 204, event_id: completed?.webhookId });
    // the event's body is the payment as the api answered it
    const event = await stack.pool.query<{ body: string }>('SELECT body FROM webhook_events WHERE id = $1', [completed?.webhookId]);
    expect(JSON.parse(event.rows[0]?.body ?? '{}')).toMatchObject({ type: 'payment.completed', data: paid.body });
    // delivered by its own workflow, on the webhook task queue, not the checkout's
    const handle = stack.client.workflow.getHandle(webhookDeliveryWorkflowId(delivered.event_id, endpointId));
    expect(await handle.result()).toMatchObject({ done: true, status: 'delivered', attempts: 1 });
    expect(await handle.describe()).toMatchObject({ type: 'webhookDelivery', taskQueue: webhookTaskQueue(stack.taskQueue) });
  });

  it("each merchant's receiver gets its own merchant's events and never the other's", async () => {
    const a = await registerReceiver(['payment.completed']);
    const b = await registerReceiver(['payment.completed'], merchantB.apiKey);
    const apiB = { url: stack.api.url, apiKey: merchantB.apiKey };

    const paidA = await postCheckoutUntilFinal(stack.api, uniqueKey('wh-merchant-a'), checkoutBody());
    const paidB = await postCheckoutUntilFinal(apiB, uniqueKey('wh-merchant-b'), checkoutBody());
    expect([paidA.body.status, paidB.body.status]).toEqual(['completed', 'completed']);

    await waitFor("A's event at A's receiver", () => receivedFor(a.receiver, paidA.body.payment_id, 'payment.completed').length > 0 || undefined);
    await waitFor("B's event at B's receiver", () => receivedFor(b.receiver, paidB.body.payment_id, 'payment.completed').length > 0 || undefined);
    // both dispatched: every delivery either event will ever have exists now
    await eventDispatched(paidA.body.payment_id);
    await eventDispatched(paidB.body.payment_id);
    expect(receivedFor(a.receiver, paidB.body.payment_id, 'payment.completed')).toEqual([]);
    expect(receivedFor(b.receiver, paidA.body.payment_id, 'payment.completed')).toEqual([]);
    const deliveries = await stack.pool.query<{ payment_id: string; merchant_id: string; endpoint_merchant: string }>(
      `SELECT ev.payment_id, d.merchant_id, e.merchant_id AS endpoint_merchant
         FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE ev.payment_id = ANY ($1)`,
      [[paidA.body.payment_id, paidB.body.payment_id]],
    );
    const owner: Record<string, string> = { [paidA.body.payment_id]: stack.merchant.merchantId, [paidB.body.payment_id]: merchantB.merchantId };
    for (const d of deliveries.rows) expect([d.merchant_id, d.endpoint_merchant]).toEqual([owner[d.payment_id], owner[d.payment_id]]);
    // and neither lists the other's deliveries
    const listedB = await asB('GET', '/webhook-deliveries?limit=1000');
    expect(listedB.body.data.map((d: { payment_id: string }) => d.payment_id)).not.toContain(paidA.body.payment_id);
    expect(listedB.body.data.map((d: { payment_id: string }) => d.payment_id)).toContain(paidB.body.payment_id);
  });

  it('an endpoint that keeps failing ends in the dead-letter list; redeliver sends it again with the same webhook-id, once at a time', async () => {
    const { id: endpointId, receiver } = await registerReceiver(['payment.completed']);
    receiver.failWith(503);

    const paid = await postCheckoutUntilFinal(stack.api, uniqueKey('wh-dead'), checkoutBody());
    expect(paid.body.status).toBe('completed');
    const dead = await waitFor('a dead letter', async () => {
      const list = await api('GET', `/webhook-deliveries?status=dead&endpoint_id=${endpointId}`);
      return list.body.data.find((d: { payment_id: string }) => d.payment_id === paid.body.payment_id);
    });
    expect(dead).toMatchObject({ status: 'dead', attempts: RETRY_DELAYS_MS.length + 1, last_status_code: 503 });
    // operators see it across merchants, named by its merchant
    const adminList = await call(adminKey, 'GET', '/admin/webhook-deliveries?status=dead&limit=1000');
    expect(adminList.status).toBe(200);
    expect(adminList.body.data.find((d: { id: string }) => d.id === dead.id)).toMatchObject({ merchant_id: stack.merchant.merchantId, status: 'dead' });

    receiver.failWith(undefined);
    // two requests at once: one redelivery, the other told it is in flight
    const answers = await Promise.all([api('POST', `/webhook-deliveries/${dead.id}/redeliver`), api('POST', `/webhook-deliveries/${dead.id}/redeliver`)]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    expect(answers.find((a) => a.status === 202)).toMatchObject({ body: { id: dead.id, status: 'pending', redeliveries: 1 } });
    expect(answers.find((a) => a.status === 409)).toMatchObject({ body: { error: { code: 'delivery_in_progress' } } });
    const [got] = await waitFor('the redelivery at the receiver', () => {
      const copies = receivedFor(receiver, paid.body.payment_id, 'payment.completed');
      return copies.length > 0 ? copies : undefined;
    });
    expect(got?.webhookId).toBe(dead.event_id);
    await waitFor('the delivery row marked delivered', async () => {
      const list = await api('GET', `/webhook-deliveries?status=delivered&endpoint_id=${endpointId}`);
      return list.body.data.find((d: { id: string }) => d.id === dead.id);
    });
    expect(receivedFor(receiver, paid.body.payment_id, 'payment.completed')).toHaveLength(1);
  });

  it("merchant B cannot read, list, disable, delete, rotate or redeliver A's endpoints and deliveries: 404, as if missing", async () => {
    const { id: endpointId, receiver } = await registerReceiver(['payment.completed']);
    const paid = await postCheckoutUntilFinal(stack.api, uniqueKey('wh-cross'), checkoutBody());
    await waitFor("A's delivery", () => receivedFor(receiver, paid.body.payment_id, 'payment.completed').length > 0 || undefined);
    const delivery = await waitFor("A's delivery row", async () => {
      const list = await api('GET', `/webhook-deliveries?status=delivered&endpoint_id=${endpointId}`);
      return list.body.data.find((d: { payment_id: string }) => d.payment_id === paid.body.payment_id);
    });
    // other endpoints of A's may still be delivering this payment: compare the ones B aims at
    const before = await rowsOf(endpointId, delivery.id);

    for (const [method, path, missing] of [
      ['GET', `/webhook-endpoints/${endpointId}`, '/webhook-endpoints/we_missing'],
      ['POST', `/webhook-endpoints/${endpointId}/disable`, '/webhook-endpoints/we_missing/disable'],
      ['POST', `/webhook-endpoints/${endpointId}/rotate-secret`, '/webhook-endpoints/we_missing/rotate-secret'],
      ['DELETE', `/webhook-endpoints/${endpointId}`, '/webhook-endpoints/we_missing'],
      ['POST', `/webhook-deliveries/${delivery.id}/redeliver`, '/webhook-deliveries/whd_missing/redeliver'],
    ] as const) {
      const theirs = await asB(method, path);
      const nothing = await asB(method, missing);
      expect(theirs.status, `${method} ${path}`).toBe(404);
      // worded exactly as for an id that does not exist
      expect(theirs.body.error.code).toBe(nothing.body.error.code);
      expect(theirs.body.error.message.replace(/(we|whd)_\w+/, 'ID')).toBe(nothing.body.error.message.replace(/(we|whd)_\w+/, 'ID'));
    }
    expect((await asB('POST', `/webhook-endpoints/${endpointId}/rotate-secret`, undefined, { 'idempotency-key': uniqueKey('cross') })).status).toBe(404);
    expect((await asB('GET', '/webhook-endpoints')).body.data.map((e: { id: string }) => e.id)).not.toContain(endpointId);
    expect((await asB('GET', `/webhook-deliveries?endpoint_id=${endpointId}`)).body.data).toEqual([]);
    // a restricted key of B reads nothing of A's either
    const restricted = (await createTestKey(stack.pool, merchantB.merchantId, 'restricted')).apiKey;
    expect((await call(restricted, 'GET', `/webhook-endpoints/${endpointId}`)).status).toBe(404);

    // A's rows are as they were, and A still sees its endpoint active
    expect(await rowsOf(endpointId, delivery.id)).toEqual(before);
    expect(await api('GET', `/webhook-endpoints/${endpointId}`)).toMatchObject({ status: 200, body: { status: 'active' } });
  });

  it('two rotations in a row: deliveries are signed with all three secrets until each expires', async () => {
    const capture = await captureServer();
    const created = await createEndpoint(stack.api.apiKey, capture.url, ['payment.completed']);
    const first = await api('POST', `/webhook-endpoints/${created.body.id}/rotate-secret`);
    const second = await api('POST', `/webhook-endpoints/${created.body.id}/rotate-secret`);
    const secrets = [created.body.secret as string, first.body.secret as string, second.body.secret as string];
    expect(new Set(secrets).size).toBe(3);

    const verifies = (request: { headers: Record<string, string>; body: string }, secret: string) => {
      try {
        new Webhook(secret).verify(request.body, request.headers);
        return true;
      } catch {
        return false;
      }
    };
    const requestFor = (paymentId: string) =>
      waitFor(`the webhook of ${paymentId}`, () => capture.requests.find((r) => (JSON.parse(r.body) as { data: { payment_id: string } }).data.payment_id === paymentId));

    const paid = await postCheckoutUntilFinal(stack.api, uniqueKey('wh-rotated-twice'), checkoutBody());
    const signed = await requestFor(paid.body.payment_id);
    expect(signed.headers['webhook-signature']?.split(' ')).toHaveLength(3);
    // a receiver still holding the very first secret verifies, as do the others
    expect(secrets.map((s) => verifies(signed, s))).toEqual([true, true, true]);

    // the first retired secret reaches its own expiry (as 24 h later); the second still signs
    await stack.pool.query("UPDATE webhook_endpoint_secrets SET expires_at = now() - interval '1 second' WHERE secret = $1", [secrets[0]]);
    const later = await postCheckoutUntilFinal(stack.api, uniqueKey('wh-rotated-expired'), checkoutBody());
    const signedLater = await requestFor(later.body.payment_id);
    expect(secrets.map((s) => verifies(signedLater, s))).toEqual([false, true, true]);
  });

  it('after a rotation the receiver still holding the old secret verifies; a disabled endpoint gets nothing', async () => {
    const { id: endpointId, receiver } = await registerReceiver(['payment.completed']);
    expect((await api('POST', `/webhook-endpoints/${endpointId}/rotate-secret`)).status).toBe(200);
    const first = await postCheckout(stack.api, uniqueKey('wh-rotated'), checkoutBody());
    await waitFor('the delivery signed with both secrets', () => receivedFor(receiver, first.body.payment_id, 'payment.completed').length > 0 || undefined);
    expect(receiver.rejected).toEqual([]);

    expect((await api('POST', `/webhook-endpoints/${endpointId}/disable`)).status).toBe(200);
    const second = await postCheckout(stack.api, uniqueKey('wh-disabled'), checkoutBody());
    expect(second.status).toBe(201);
    // once the event is dispatched, no delivery to the disabled endpoint exists
    await eventDispatched(second.body.payment_id);
    const list = await api('GET', `/webhook-deliveries?endpoint_id=${endpointId}`);
    expect(list.body.data.map((d: { payment_id: string }) => d.payment_id)).not.toContain(second.body.payment_id);
    expect(receivedFor(receiver, second.body.payment_id, 'payment.completed')).toEqual([]);
  });

  it('redeliveries are throttled per merchant: past the rate, 429 with Retry-After, and the delivery is left as it was', async () => {
    const r = await createTestMerchant(stack.pool, 'webhooks merchant R, redelivering');
    const { receiver } = await registerReceiver(['payment.completed'], r.apiKey);
    const apiR = { url: stack.api.url, apiKey: r.apiKey };
    const payments = [
      await postCheckoutUntilFinal(apiR, uniqueKey('wh-throttle-1'), checkoutBody()),
      await postCheckoutUntilFinal(apiR, uniqueKey('wh-throttle-2'), checkoutBody()),
    ];
    const deliveries = await waitFor('both delivered', async () => {
      const list = await call(r.apiKey, 'GET', '/webhook-deliveries?status=delivered');
      return list.body.data.length === 2 ? (list.body.data as Array<{ id: string }>) : undefined;
    });
    for (const p of payments) expect(receivedFor(receiver, p.body.payment_id, 'payment.completed')).toHaveLength(1);

    const throttled = await anotherApi({ WEBHOOK_REDELIVERIES_PER_MINUTE: '1' });
    const [one, two] = deliveries as [{ id: string }, { id: string }];
    expect((await call(r.apiKey, 'POST', `/webhook-deliveries/${one.id}/redeliver`, undefined, {}, throttled.url)).status).toBe(202);
    const before = await rowsOf(null, two.id);
    const refused = await call(r.apiKey, 'POST', `/webhook-deliveries/${two.id}/redeliver`, undefined, {}, throttled.url);
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await rowsOf(null, two.id)).toEqual(before);
    // another merchant's rate is its own
    expect((await call(merchantB.apiKey, 'POST', '/webhook-deliveries/whd_missing/redeliver', undefined, {}, throttled.url)).status).toBe(404);
  });
});
