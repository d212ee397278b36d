// The payments stub as its callers see it: real HTTP against an in-process stub.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStub, type RunningStub } from '../../payments-stub/server';

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

interface ChargeBody {
  id: string;
  status: string;
  amount_cents: number;
  currency: string;
  created: number;
}

interface RefundBody extends ChargeBody {
  charge_id: string;
}

interface ListedCharge {
  id: string;
  idempotency_key: string;
  amount_cents: number;
  currency: string;
  created: number;
  refunded: boolean;
}

interface CapacityStats {
  in_service: number;
  queue: number;
  shed: number;
  served: number;
  abandoned: number;
  faulted: number;
}

interface Stats {
  attempts: number;
  charges_applied: number;
  replays: number;
  faults_injected: number;
  capacity: { charges: CapacityStats; refunds: CapacityStats };
}

interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

let stub: RunningStub;

beforeAll(async () => {
  stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok' });
});

afterAll(async () => {
  await stub.close();
});

// Every test that touches faults leaves them as it found them.
afterEach(async () => {
  await setFaults({ mode: 'ok', latency_ms: 0, tail_rate: 0, fail_rate: null, capacity: { charges: null, refunds: null } });
});

const newKey = (): string => `test-${randomUUID()}`;

const card = { amount_cents: 1999, currency: 'USD', payment_method_id: 'pm_card_visa' };

async function call<T>(
  method: string,
  path: string,
  options: { body?: unknown; key?: string; signal?: AbortSignal } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  const res = await fetch(`${stub.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as T };
}

const post = <T>(path: string, body: unknown, key?: string, signal?: AbortSignal): Promise<Answer<T>> =>
  call<T>('POST', path, { body, key, signal });

const get = <T>(path: string): Promise<Answer<T>> => call<T>('GET', path);

const setFaults = (faults: Record<string, unknown>): Promise<Answer<unknown>> => call('PUT', '/faults', { body: faults });

async function listCharges(query = ''): Promise<ListedCharge[]> {
  return (await get<{ data: ListedCharge[] }>(`/charges${query}`)).body.data;
}

async function chargesWithKey(key: string): Promise<ListedCharge[]> {
  return (await listCharges()).filter((c) => c.idempotency_key === key);
}

async function stats(): Promise<Stats> {
  return (await get<Stats>('/stats')).body;
}

describe('payments stub', () => {
  it('answers /healthz', async () => {
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });

  it('applies a charge and answers with every field', async () => {
    const key = newKey();
    const before = Math.floor(Date.now() / 1000);
    const res = await post<ChargeBody>('/charges', card, key);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^ch_\w+$/) as unknown,
      status: 'succeeded',
      amount_cents: 1999,
      currency: 'USD',
      created: expect.any(Number) as unknown,
    });
    expect(Number.isInteger(res.body.created)).toBe(true);
    expect(res.body.created).toBeGreaterThanOrEqual(before);
    expect(res.body.created).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));

    expect(await chargesWithKey(key)).toEqual([
      { id: res.body.id, idempotency_key: key, amount_cents: 1999, currency: 'USD', created: res.body.created, refunded: false },
    ]);
  });

  it('replays the same charge for the same key without applying it again', async () => {
    const key = newKey();
    const statsBefore = await stats();
    const first = await post<ChargeBody>('/charges', card, key);
    const second = await post<ChargeBody>('/charges', card, key);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');

    const statsAfter = await stats();
    expect(statsAfter.attempts - statsBefore.attempts).toBe(2);
    expect(statsAfter.charges_applied - statsBefore.charges_applied).toBe(1);
    expect(statsAfter.replays - statsBefore.replays).toBe(1);
    expect(await chargesWithKey(key)).toHaveLength(1);
  });

  it('applies one charge for concurrent requests with the same key', async () => {
    // Latency keeps the first in flight while the others arrive.
    await setFaults({ latency_ms: 200 });
    const key = newKey();
    const answers = await Promise.all(Array.from({ length: 5 }, () => post<ChargeBody>('/charges', card, key)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await chargesWithKey(key)).toHaveLength(1);
  });

  it('refuses a key reused with a different body, applying nothing more', async () => {
    const key = newKey();
    const first = await post<ChargeBody>('/charges', card, key);
    expect(first.status).toBe(200);
    const reused = await post<ErrorBody>('/charges', { ...card, amount_cents: 5000 }, key);
    expect(reused.status).toBe(400);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    expect(await chargesWithKey(key)).toEqual([expect.objectContaining({ id: first.body.id, amount_cents: 1999 })]);
  });

  it.each([
    ['pm_declined', 'card_declined'],
    ['pm_insufficient_funds', 'insufficient_funds'],
  ])('declines %s with 402 %s and charges nothing, also on replay', async (paymentMethod, code) => {
    const key = newKey();
    const body = { ...card, payment_method_id: paymentMethod };
    const res = await post<ErrorBody>('/charges', body, key);
    expect(res.status).toBe(402);
    expect(res.body.error.code).toBe(code);

    const again = await post<ErrorBody>('/charges', body, key);
    expect(again.status).toBe(402);
    expect(again.body).toEqual(res.body);
    expect(await chargesWithKey(key)).toEqual([]);
  });

  it.each([
    ['amount_cents', { amount_cents: -5 }],
    ['amount_cents', { amount_cents: 0 }],
    ['amount_cents', { amount_cents: 10.5 }],
    ['amount_cents', { amount_cents: '1999' }],
    ['currency', { currency: 'usd' }],
    ['currency', { currency: 'DOLLARS' }],
    ['payment_method_id', { payment_method_id: '' }],
    ['payment_method_id', { payment_method_id: undefined }],
  ])('refuses an invalid %s with 400 naming the field (%j)', async (field, change) => {
    const key = newKey();
    const res = await post<ErrorBody>('/charges', { ...card, ...change }, key);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field });
    expect(res.body.error.message).toEqual(expect.any(String));
    expect(await chargesWithKey(key)).toEqual([]);
  });

  it('refuses a body that is not JSON with a JSON 400', async () => {
    for (const [contentType, body] of [
      ['application/json', '{"amount_cents": 12'],
      ['text/plain', 'amount_cents=12'],
    ] as const) {
      const res = await fetch(`${stub.url}/charges`, {
        method: 'POST',
        headers: { 'content-type': contentType, 'idempotency-key': newKey() },
        body,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code).toBe('invalid_request');
    }
  });

  it('refuses a charge without an Idempotency-Key', async () => {
    const res = await post<ErrorBody>('/charges', card);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'Idempotency-Key' });
  });

  it('refunds a charge once, idempotently', async () => {
    const charge = await post<ChargeBody>('/charges', card, newKey());
    const refundKey = newKey();
    const refund = await post<RefundBody>('/refunds', { charge_id: charge.body.id }, refundKey);
    expect(refund.status).toBe(200);
    expect(refund.body).toEqual({
      id: expect.stringMatching(/^re_\w+$/) as unknown,
      charge_id: charge.body.id,
      status: 'succeeded',
      amount_cents: 1999,
      currency: 'USD',
      created: expect.any(Number) as unknown,
    });

    const replay = await post<RefundBody>('/refunds', { charge_id: charge.body.id }, refundKey);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(refund.body);

    const otherKey = await post<ErrorBody>('/refunds', { charge_id: charge.body.id }, newKey());
    expect(otherKey.status).toBe(400);
    expect(otherKey.body.error.code).toBe('charge_already_refunded');

    const listed = (await listCharges()).find((c) => c.id === charge.body.id);
    expect(listed?.refunded).toBe(true);
  });

  it('answers 404 for a refund of an unknown charge', async () => {
    const res = await post<ErrorBody>('/refunds', { charge_id: 'ch_unknown' }, newKey());
    expect(res.status).toBe(404);
    expect(res.body.error.code).toEqual(expect.any(String));
  });

  it('shows and validates fault settings', async () => {
    const off = { charges: null, refunds: null };
    const calm = { latency_ms: 0, tail_rate: 0, tail_latency_ms: 0 };
    expect((await get('/faults')).body).toEqual({ ...calm, fail_rate: null, mode: 'ok', capacity: off });
    const set = await setFaults({ mode: 'error', fail_rate: 0.25 });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ ...calm, fail_rate: 0.25, mode: 'error', capacity: off });
    expect((await get('/faults')).body).toEqual(set.body);

    const bads = [
      { mode: 'explode' },
      { fail_rate: 1.5 },
      { latency_ms: -1 },
      { latency_ms: 'slow' },
      { latncy_ms: 5 },
      { capacity: { charges: { capacity_rps: 0 } } },
      { capacity: { charges: { capacity_rps: 10, concurrency: 0.5 } } },
      { capacity: { payouts: { capacity_rps: 10 } } },
      { tail_rate: 2 },
      { tail_latency_ms: -5 },
    ];
    for (const bad of bads) {
      const res = await setFaults(bad);
      expect(res.status).toBe(400);
      expect((res.body as ErrorBody).error.code).toBe('invalid_request');
    }
    expect((await get('/faults')).body).toEqual(set.body);
  });

  it('answers 503 with Retry-After when unavailable, while GET routes keep working', async () => {
    await setFaults({ mode: 'unavailable' });
    const key = newKey();
    const res = await post<ErrorBody>('/charges', card, key);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body.error.code).toEqual(expect.any(String));

    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/stats')).status).toBe(200);
    expect(await chargesWithKey(key)).toEqual([]);
  });

  it('fails about fail_rate of the requests in error mode', async () => {
    await setFaults({ mode: 'error', fail_rate: 0.5 });
    const statsBefore = await stats();
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await post('/charges', card, newKey())).status);
    const failed = statuses.filter((s) => s === 500).length;
    const succeeded = statuses.filter((s) => s === 200).length;
    expect(failed + succeeded).toBe(40);
    expect(failed).toBeGreaterThan(0);
    expect(succeeded).toBeGreaterThan(0);

    const statsAfter = await stats();
    expect(statsAfter.faults_injected - statsBefore.faults_injected).toBe(failed);
    expect(statsAfter.charges_applied - statsBefore.charges_applied).toBe(succeeded);
  });

  it('applies the charge but drops the answer in lost_response mode', async () => {
    await setFaults({ mode: 'lost_response' });
    const key = newKey();
    await expect(post('/charges', card, key)).rejects.toThrow();
    await setFaults({ mode: 'ok' });

    const listed = await chargesWithKey(key);
    expect(listed).toHaveLength(1);
    // The retry a client would make gets the charge it lost.
    const retry = await post<ChargeBody>('/charges', card, key);
    expect(retry.status).toBe(200);
    expect(retry.body.id).toBe(listed[0]?.id);
  });

  it('hangs until the caller gives up, then serves again once faults change', async () => {
    await setFaults({ mode: 'hang' });
    const hungKey = newKey();
    const started = Date.now();
    await expect(post('/charges', card, hungKey, AbortSignal.timeout(300))).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    await setFaults({ mode: 'ok' });
    const res = await post('/charges', card, newKey());
    expect(res.status).toBe(200);
    // A hung request is dropped, never applied late.
    expect(await chargesWithKey(hungKey)).toEqual([]);
  });

  it('applies a slow charge even when the caller has gone', async () => {
    await setFaults({ latency_ms: 300 });
    const key = newKey();
    await expect(post('/charges', card, key, AbortSignal.timeout(50))).rejects.toThrow();
    expect(await chargesWithKey(key)).toEqual([]);

    let listed: ListedCharge[] = [];
    for (let i = 0; i < 40 && listed.length === 0; i++) {
      await sleep(50);
      listed = await chargesWithKey(key);
    }
    expect(listed).toHaveLength(1);
  });

  it('serves capacity_rps with a queue, and sheds beyond it with 503 and Retry-After', async () => {
    // 2 in service for 2 / 20 s = 100 ms each, 3 waiting, the rest shed
    const set = await setFaults({ capacity: { charges: { capacity_rps: 20, concurrency: 2, queue_limit: 3 } } });
    expect((set.body as { capacity: unknown }).capacity).toEqual({ charges: { capacity_rps: 20, concurrency: 2, queue_limit: 3 }, refunds: null });
    const before = (await stats()).capacity.charges;
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await post<ErrorBody>('/charges', card, newKey());
        return { status: res.status, retryAfter: res.headers.get('retry-after'), code: res.body.error?.code, ms: performance.now() - started };
      }),
    );
    const served = answers.filter((a) => a.status === 200);
    const shed = answers.filter((a) => a.status === 503);
    expect(served).toHaveLength(5);
    expect(shed).toHaveLength(5);
    expect(shed.every((a) => a.retryAfter === '1' && a.code === 'overloaded')).toBe(true);
    // shed at the door, before any service time; the fifth served waited for two rounds of it
    expect(Math.max(...shed.map((a) => a.ms))).toBeLessThan(Math.min(...served.map((a) => a.ms)));
    expect(Math.max(...served.map((a) => a.ms))).toBeGreaterThanOrEqual(290);
    const after = (await stats()).capacity.charges;
    expect({ shed: after.shed - before.shed, served: after.served - before.served, queue: after.queue, in_service: after.in_service }).toEqual({
      shed: 5,
      served: 5,
      queue: 0,
      in_service: 0,
    });
  });

  it('keeps a slot held by a hanging request, and serves the queue once the hang lifts', async () => {
    await setFaults({ mode: 'hang', capacity: { charges: { capacity_rps: 100, concurrency: 1, queue_limit: 5 } } });
    const hung = post('/charges', card, newKey(), AbortSignal.timeout(5_000)).catch((err: Error) => err);
    await sleep(100);
    await setFaults({ mode: 'ok' }); // lifts the hang: the held request is dropped, the next one gets the slot
    const queued = await post('/charges', card, newKey());
    expect(queued.status).toBe(200);
    expect(await hung).toBeInstanceOf(Error);

    // a hang holds the only slot: the next request waits in the queue, visible in GET /stats
    await setFaults({ mode: 'hang' });
    const held = post('/charges', card, newKey(), AbortSignal.timeout(5_000)).catch((err: Error) => err);
    await sleep(100);
    const waiting = post('/charges', card, newKey());
    await sleep(100);
    expect((await stats()).capacity.charges).toMatchObject({ in_service: 1, queue: 1 });
    await setFaults({ mode: 'ok' });
    expect((await waiting).status).toBe(200);
    expect(await held).toBeInstanceOf(Error);
  });

  it('serves a queued request whose caller has gone, charging it and counting it abandoned', async () => {
    // one slot of 200 ms: the second caller gives up while it waits
    await setFaults({ capacity: { charges: { capacity_rps: 5, concurrency: 1, queue_limit: 5 } } });
    const before = (await stats()).capacity.charges;
    const first = post('/charges', card, newKey());
    const goneKey = newKey();
    await expect(post('/charges', card, goneKey, AbortSignal.timeout(100))).rejects.toThrow();
    expect((await first).status).toBe(200);
    // counted when its service time is over, 200 ms after its turn came
    let after = (await stats()).capacity.charges;
    for (let i = 0; i < 40 && after.served - before.served < 2; i++) {
      await sleep(50);
      after = (await stats()).capacity.charges;
    }
    expect(await chargesWithKey(goneKey)).toHaveLength(1);
    expect(after.abandoned - before.abandoned).toBe(1);
    expect(after.served - before.served).toBe(2);
  });

  it('limits each endpoint on its own: refunds are not held by a saturated /charges', async () => {
    const charge = await post<ChargeBody>('/charges', card, newKey());
    // one slot held 1 s by each charge, no queue
    await setFaults({ capacity: { charges: { capacity_rps: 1, concurrency: 1, queue_limit: 0 } } });
    const holding = post('/charges', card, newKey());
    await sleep(100);
    expect((await post('/charges', card, newKey())).status).toBe(503);
    const started = performance.now();
    const refund = await post('/refunds', { charge_id: charge.body.id }, newKey());
    expect(refund.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(800);
    expect((await holding).status).toBe(200);
    expect((await stats()).capacity.refunds.shed).toBe(0);
  });

  it('makes a tail_rate share of requests take tail_latency_ms', async () => {
    await setFaults({ tail_rate: 0.5, tail_latency_ms: 300 });
    const times = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const t = performance.now();
        expect((await post('/charges', card, newKey())).status).toBe(200);
        return performance.now() - t;
      }),
    );
    const slow = times.filter((ms) => ms >= 290).length;
    // 20 coins at 0.5: all on one side has a chance of 2 in a million
    expect(slow).toBeGreaterThan(0);
    expect(slow).toBeLessThan(20);
  });

  it('filters GET /charges with since', async () => {
    const key = newKey();
    const charge = await post<ChargeBody>('/charges', card, key);
    const created = charge.body.created;

    const from = await listCharges(`?since=${created}`);
    expect(from.map((c) => c.idempotency_key)).toContain(key);
    expect(from.every((c) => c.created >= created)).toBe(true);
    expect(await listCharges(`?since=${created + 1}`)).toEqual([]);
    expect((await listCharges()).length).toBeGreaterThanOrEqual(from.length);

    expect((await get('/charges?since=yesterday')).status).toBe(400);
  });

  it('closes promptly even with a request hanging', async () => {
    const other = await startStub({ port: 0, latencyMs: 0, faultMode: 'hang' });
    const hanging = fetch(`${other.url}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': newKey() },
      body: JSON.stringify(card),
    });
    await sleep(50);
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(hanging).rejects.toThrow();
  });
});
