// What Temporal stores of a checkout started through the api, read straight
// from the server (getWorkflowExecutionHistory, no data converter): no
// customer id, payment method or amount in clear, in payloads, failure
// messages or search attributes. CustomerId holds the keyed hash, which
// finds the workflow; a codec rotated to a new key still reads the history.
import crypto from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutWorkflowId } from '../../domain/ids';
import { parsePayloadKeys } from '../../config';
import { customerSearchValue } from '../../temporal/customer-search-value';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING } from '../../temporal/payload-codec';
import { bearer, createTestKey } from '../support/merchants';
import { checkoutBody, postCheckout, startTestStack, TEST_CUSTOMER_ID_HASH_KEY, TEST_PAYLOAD_KEYS, uniqueKey, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

/** The history as the server keeps it, and its bytes. */
async function rawHistory(workflowId: string): Promise<{ events: temporal.api.history.v1.IHistoryEvent[]; bytes: Buffer }> {
  await stack.client.workflow.getHandle(workflowId).result().catch(() => undefined);
  const { history } = await stack.client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId } });
  return { events: history?.events ?? [], bytes: Buffer.from(temporal.api.history.v1.History.encode(history ?? {}).finish()) };
}

/** Every payload in a history: inputs, results, markers, failures' encoded attributes. */
function payloadsOf(message: unknown, found: Payload[] = []): Payload[] {
  if (message === null || typeof message !== 'object' || ArrayBuffer.isView(message)) return found;
  const m = message as Record<string, unknown>;
  if ('metadata' in m && 'data' in m && m.metadata && typeof m.metadata === 'object') found.push(m as Payload);
  for (const value of Object.values(m)) payloadsOf(value, found);
  return found;
}

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString();

describe('a checkout\'s history read straight from the server', () => {
  it('holds no clear customer id, payment method or amount; its payloads are encrypted and CustomerId is the keyed hash', async () => {
    const suffix = crypto.randomBytes(6).toString('hex');
    const customer = `cust_secret_${suffix}`;
    const method = `pm_secret_${suffix}`;
    const amount = 3_917_461;
    const key = uniqueKey('encrypted');
    const res = await postCheckout(stack.api, key, checkoutBody({ customer_id: customer, payment_method_id: method, amount_cents: amount }));
    expect(res.status).toBe(201);
    const workflowId = checkoutWorkflowId(stack.merchant.merchantId, key);
    const { events, bytes } = await rawHistory(workflowId);

    for (const secret of [customer, method, String(amount), suffix]) expect(bytes.includes(secret), secret).toBe(false);
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    const indexed = started?.searchAttributes?.indexedFields ?? {};
    expect(Object.keys(indexed).sort()).toEqual(['CustomerId', 'MerchantId', 'PaymentStatus']);
    expect(defaultPayloadConverter.fromPayload(indexed.CustomerId as Payload)).toBe(customerSearchValue(TEST_CUSTOMER_ID_HASH_KEY, customer));
    // every payload is encrypted but what the SDK and the server write of their own: patch markers and
    // the TemporalChangeVersion attribute (patch names), a local activity marker's bookkeeping (its
    // type, attempt and times, next to its encrypted result) and the PaymentStatus attribute
    const payloads = payloadsOf(events.map((e) => ({ ...e, workflowExecutionStartedEventAttributes: { ...e.workflowExecutionStartedEventAttributes, searchAttributes: null } })));
    const clear = payloads.filter((p) => text(p.metadata?.encoding) !== ENCRYPTED_ENCODING).map((p) => text(p.data));
    const sdkOwn = [/^\{"id":"[a-z-]+","deprecated":(true|false)\}$/, /^\["[a-z-]+"(,"[a-z-]+")*\]$/, /^\{"seq":\d+,"attempt":\d+,"activity_id":"\d+","activity_type":"\w+",/, /^"(pending|completed|failed|refunded)"$/];
    expect(clear.filter((data) => !sdkOwn.some((re) => re.test(data)))).toEqual([]);
    // the input, the four steps' results and the workflow's result
    expect(payloads.length - clear.length).toBeGreaterThanOrEqual(6);

    // the client with the keys reads it all back
    const decoded = await stack.dataConverter.payloadCodecs?.[0]?.decode([started?.input?.payloads?.[0] as Payload]);
    expect(defaultPayloadConverter.fromPayload(decoded?.[0] as Payload)).toMatchObject({ request: { customer_id: customer, payment_method_id: method, amount_cents: amount } });
  });

  it('keeps a refusal\'s message (which names the amount) out of clear too: failure messages are encoded', async () => {
    const amount = 5_000_000 + crypto.randomInt(1, 999_999);
    const key = uniqueKey('encrypted-fraud');
    const res = await postCheckout(stack.api, key, checkoutBody({ amount_cents: amount }));
    expect(res.status).toBe(402);
    const workflowId = checkoutWorkflowId(stack.merchant.merchantId, key);
    const { events, bytes } = await rawHistory(workflowId);
    expect(bytes.includes(String(amount))).toBe(false);
    const failures = events.flatMap((e) => [e.markerRecordedEventAttributes?.failure, e.activityTaskFailedEventAttributes?.failure].filter(Boolean));
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) expect(failure?.message).toBe('Encoded failure');
    // through the client's converter the message is back
    const error = await stack.client.workflow.getHandle(workflowId).result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error === undefined || !String((error as Error).message).includes('Encoded failure')).toBe(true);
  });

  it('is found by its CustomerId hash (the query scripts/find-customer.ts prints)', async () => {
    const customer = `cust_find_${crypto.randomBytes(6).toString('hex')}`;
    const key = uniqueKey('find-customer');
    expect((await postCheckout(stack.api, key, checkoutBody({ customer_id: customer }))).status).toBe(201);
    const query = `CustomerId IN ("${customerSearchValue(TEST_CUSTOMER_ID_HASH_KEY, customer)}", "${customer}")`;
    const deadline = Date.now() + 10_000;
    let ids: string[] = [];
    while (ids.length === 0 && Date.now() < deadline) {
      ids = [];
      for await (const wf of stack.client.workflow.list({ query })) ids.push(wf.workflowId);
      if (ids.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(ids).toEqual([checkoutWorkflowId(stack.merchant.merchantId, key)]);
  });

  it('still reads after a key rotation: the new key first, the old one kept', async () => {
    const key = uniqueKey('rotated');
    expect((await postCheckout(stack.api, key, checkoutBody({ customer_id: 'cust_rotated' }))).status).toBe(201);
    const { events } = await rawHistory(checkoutWorkflowId(stack.merchant.merchantId, key));
    const old = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0] as Payload;
    const rotated = new AesGcmPayloadCodec([{ id: 'test2', key: crypto.randomBytes(32) }, ...parsePayloadKeys(TEST_PAYLOAD_KEYS)]);
    const fresh = await rotated.encode([defaultPayloadConverter.toPayload({ after: 'rotation' })]);
    const [a, b] = await rotated.decode([old, ...fresh]);
    expect(defaultPayloadConverter.fromPayload(a as Payload)).toMatchObject({ request: { customer_id: 'cust_rotated' } });
    expect(defaultPayloadConverter.fromPayload(b as Payload)).toEqual({ after: 'rotation' });
    expect(text(fresh[0]?.metadata?.['encryption-key-id'])).toBe('test2');
  });
});

describe('the codec endpoint the Web UI calls (POST /codec/decode)', () => {
  const UI_ORIGIN = 'http://localhost:8233';

  async function encryptedInputOf(): Promise<{ payload: Payload; customer: string }> {
    const customer = `cust_codec_${crypto.randomBytes(6).toString('hex')}`;
    const key = uniqueKey('codec');
    expect((await postCheckout(stack.api, key, checkoutBody({ customer_id: customer }))).status).toBe(201);
    const { events } = await rawHistory(checkoutWorkflowId(stack.merchant.merchantId, key));
    return { payload: events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0] as Payload, customer };
  }

  /** The codec server protocol's body: metadata and data in base64. */
  const bodyOf = (p: Payload) =>
    JSON.stringify({
      payloads: [{ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])), data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') }],
    });

  const decode = (body: string, headers: Record<string, string>) =>
    fetch(`${stack.api.url}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', origin: UI_ORIGIN, ...headers }, body });

  it('decrypts a history payload for an operator key, with CORS for the Web UI\'s origin', async () => {
    const { payload, customer } = await encryptedInputOf();
    const admin = await createTestKey(stack.pool, null, 'admin');
    const res = await decode(bodyOf(payload), bearer(admin.apiKey));
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const [clear] = ((await res.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> }).payloads;
    expect(Buffer.from(clear?.metadata.encoding ?? '', 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(clear?.data ?? '', 'base64').toString())).toMatchObject({ request: { customer_id: customer } });
  });

  it('refuses without a key (401) and with a merchant\'s key (403), and tells nothing of the payload', async () => {
    const { payload, customer } = await encryptedInputOf();
    const none = await decode(bodyOf(payload), {});
    expect(none.status).toBe(401);
    // the UI can read the refusal: CORS answers on it too
    expect(none.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const merchant = await decode(bodyOf(payload), bearer(stack.api.apiKey));
    expect(merchant.status).toBe(403);
    for (const res of [none, merchant]) expect(await res.text()).not.toContain(customer);
  });

  it('answers the preflight of the Web UI\'s origin without a key, and refuses any other origin', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.api.url}/codec/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' } });
    const ok = await preflight(UI_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const other = await preflight('https://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // an allowed call from elsewhere still needs its key; a browser would not show it the answer
    const admin = await createTestKey(stack.pool, null, 'admin');
    const cross = await fetch(`${stack.api.url}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example', ...bearer(admin.apiKey) }, body: JSON.stringify({ payloads: [] }) });
    expect(cross.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 400 for a payload it cannot decrypt (a key it does not hold), naming no key', async () => {
    const stranger = new AesGcmPayloadCodec([{ id: 'elsewhere', key: crypto.randomBytes(32) }]);
    const [foreign] = await stranger.encode([defaultPayloadConverter.toPayload({ secret: 1 })]);
    const admin = await createTestKey(stack.pool, null, 'admin');
    const res = await decode(bodyOf(foreign as Payload), bearer(admin.apiKey));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });
});
