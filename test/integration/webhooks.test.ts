// Webhooks end to end on the real dev server: the api registers endpoints, a
// checkout commits its payment and its event together, the dispatcher starts
// the delivery workflow, and a real local receiver verifies what it gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookDeliveryWorkflowId, webhookTaskQueue } from '../../domain/webhooks';
import { createWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../webhook-receiver/receiver';
import { checkoutBody, postCheckout, postCheckoutUntilFinal, startTestStack, uniqueKey, type TestStack } from '../support/stack';

let stack: TestStack;
const receivers: WebhookReceiver[] = [];
const endpointIds: string[] = [];

// short waits between attempts, so a dead letter is reached in about two seconds
const RETRY_DELAYS_MS = [200, 500, 1_000];

beforeAll(async () => {
  stack = await startTestStack({ webhooks: { retryDelaysMs: RETRY_DELAYS_MS, dispatchIntervalMs: 200 } });
});

afterAll(async () => {
  // test files share the database: leave no endpoint for later events to fan out to
  for (const id of endpointIds) await api('DELETE', `/webhook-endpoints/${id}`);
  for (const r of receivers) await r.close();
  await stack?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.api.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Registers an endpoint through the api and starts a receiver holding the secret it was shown. */
async function registerReceiver(events: string[]): Promise<{ id: string; secret: string; receiver: WebhookReceiver }> {
  // the url must be known before the secret: take a port, then register
  const placeholder = createWebhookReceiver({ secret: 'whsec_cGxhY2Vob2xkZXI=' });
  const url = await placeholder.listen(0);
  await placeholder.close();
  const created = await api('POST', '/webhook-endpoints', { url, events });
  expect(created.status).toBe(201);
  endpointIds.push(created.body.id);
  const receiver = createWebhookReceiver({ secret: created.body.secret });
  await receiver.listen(Number(new URL(url).port));
  receivers.push(receiver);
  return { id: created.body.id, secret: created.body.secret, receiver };
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

describe('webhook endpoints api', () => {
  it('refuses bad input with a 400 naming the field, unknown ids with a 404', async () => {
    expect(await api('POST', '/webhook-endpoints', { url: 'ftp://example.com/hook', events: ['payment.completed'] })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', field: 'url' } },
    });
    expect(await api('POST', '/webhook-endpoints', { url: 'https://example.com/hook', events: ['payment.exploded'] })).toMatchObject({
      status: 400,
      body: { error: { field: 'events.0' } },
    });
    expect(await api('POST', '/webhook-endpoints', { url: 'https://example.com/hook', events: [] })).toMatchObject({ status: 400 });
    expect(await api('POST', '/webhook-endpoints', { url: 'https://example.com/hook', events: ['payment.failed'], extra: 1 })).toMatchObject({
      status: 400,
      body: { error: { field: 'extra' } },
    });
    expect((await api('GET', '/webhook-deliveries?status=lost')).status).toBe(400);
    for (const [method, path] of [
      ['POST', '/webhook-endpoints/we_nope/disable'],
      ['DELETE', '/webhook-endpoints/we_nope'],
      ['POST', '/webhook-endpoints/we_nope/rotate-secret'],
      ['POST', '/webhook-deliveries/whd_nope/redeliver'],
    ] as const) {
      expect((await api(method, path)).status, `${method} ${path}`).toBe(404);
    }
  });

  it('shows the secret once: at creation and at rotation, never in the list', async () => {
    const created = await api('POST', '/webhook-endpoints', { url: 'https://merchant.example/hooks', events: ['payment.refunded'] });
    endpointIds.push(created.body.id);
    expect(created).toMatchObject({ status: 201, body: { url: 'https://merchant.example/hooks', events: ['payment.refunded'], status: 'active' } });
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
    expect(await api('POST', `/webhook-endpoints/${created.body.id}/disable`)).toMatchObject({ status: 200, body: { status: 'disabled' } });
    expect((await api('DELETE', `/webhook-endpoints/${created.body.id}`)).status).toBe(204);
    expect((await api('GET', `/webhook-endpoints/${created.body.id}`)).status).toBe(404);
    expect((await api('GET', '/webhook-endpoints')).body.data.map((e: { id: string }) => e.id)).not.toContain(created.body.id);
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

  it('an endpoint that keeps failing ends in the dead-letter list; redeliver sends it again with the same webhook-id', async () => {
    const { id: endpointId, receiver } = await registerReceiver(['payment.completed']);
    receiver.failWith(503);

    const paid = await postCheckoutUntilFinal(stack.api, uniqueKey('wh-dead'), checkoutBody());
    expect(paid.body.status).toBe('completed');
    const dead = await waitFor('a dead letter', async () => {
      const list = await api('GET', `/webhook-deliveries?status=dead&endpoint_id=${endpointId}`);
      return list.body.data.find((d: { payment_id: string }) => d.payment_id === paid.body.payment_id);
    });
    expect(dead).toMatchObject({ status: 'dead', attempts: RETRY_DELAYS_MS.length + 1, last_status_code: 503 });

    receiver.failWith(undefined);
    const redelivered = await api('POST', `/webhook-deliveries/${dead.id}/redeliver`);
    expect(redelivered).toMatchObject({ status: 202, body: { id: dead.id, status: 'pending', redeliveries: 1 } });
    const [got] = await waitFor('the redelivery at the receiver', () => {
      const copies = receivedFor(receiver, paid.body.payment_id, 'payment.completed');
      return copies.length > 0 ? copies : undefined;
    });
    expect(got?.webhookId).toBe(dead.event_id);
    await waitFor('the delivery row marked delivered', async () => {
      const list = await api('GET', `/webhook-deliveries?status=delivered&endpoint_id=${endpointId}`);
      return list.body.data.find((d: { id: string }) => d.id === dead.id);
    });
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
    await waitFor('the event dispatched', async () => {
      const res = await stack.pool.query<{ dispatched_at: Date | null }>(
        "SELECT dispatched_at FROM webhook_events WHERE payment_id = $1 AND type = 'payment.completed'",
        [second.body.payment_id],
      );
      return res.rows[0]?.dispatched_at ?? undefined;
    });
    const list = await api('GET', `/webhook-deliveries?endpoint_id=${endpointId}`);
    expect(list.body.data.map((d: { payment_id: string }) => d.payment_id)).not.toContain(second.body.payment_id);
    expect(receivedFor(receiver, second.body.payment_id, 'payment.completed')).toEqual([]);
  });
});
