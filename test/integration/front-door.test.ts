// The front door protects itself (docs/design.md, "Front door protection"): a per-customer rate counted in
// Postgres, load shedding per instance, and a fast 503 when Temporal or
// Postgres is down. Black-box over HTTP against the real parts.
import net from 'node:net';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, type ListeningApi } from '../../api/build';
import { sweepOrphanPayments } from '../../api/orphan-sweeper';
import { connectApiToTemporal } from '../../api/temporal-connection';
import { deleteOrphanPayment } from '../../db/orphans';
import { markStartAttempt } from '../../db/payments';
import { createPool, type Pool } from '../../db/pool';
import { checkoutWorkflowId } from '../../domain/ids';
import { freePort } from '../../stack/free-port';
import { authHeaders, checkoutBody, metricValue, postCheckout, testApiConfig, testLogger, startTestStack, stubCharges, uniqueKey, type TestStack } from '../support/stack';

const RATE_LIMIT = 10;

let stack: TestStack;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  stack = await startTestStack({ rateLimitPerMinute: RATE_LIMIT });
});

afterEach(async () => {
  await setFaults({ mode: 'ok', fail_rate: null, latency_ms: 0 });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error(err));
  await stack?.stop();
});

async function setFaults(faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.stub.url}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  expect(res.status).toBe(200);
}

type ApiInstance = ListeningApi & { apiKey: string };

/** Another api instance beside the stack's, wired as the api process is, on the stack's parts unless overridden; called with the stack's key. */
async function anotherApi(overrides: { maxInFlightCheckouts?: number; client?: Client; pool?: Pool } = {}): Promise<ApiInstance> {
  const config = testApiConfig({
    TEMPORAL_TASK_QUEUE: stack.taskQueue,
    API_BUDGET_MS: '3000',
    RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
    ...(overrides.maxInFlightCheckouts !== undefined ? { MAX_IN_FLIGHT_CHECKOUTS: String(overrides.maxInFlightCheckouts) } : {}),
  });
  const built = buildApi(config, { client: overrides.client ?? stack.client, pool: overrides.pool ?? stack.pool, logger: testLogger });
  const api = await built.listen(0);
  cleanups.push(() => api.close());
  return { ...api, apiKey: stack.api.apiKey };
}

/** A customer no other test (or earlier run against this database) has used. */
function newCustomer(): string {
  return uniqueKey('cust');
}

async function timed<T>(run: () => Promise<T>): Promise<T & { ms: number }> {
  const started = performance.now();
  const result = await run();
  return { ...result, ms: performance.now() - started };
}

async function paymentRowsFor(keys: string[]): Promise<number> {
  const res = await stack.pool.query('SELECT count(*)::int AS n FROM payments WHERE idempotency_key = ANY($1)', [keys]);
  return res.rows[0].n as number;
}

async function chargesFor(keys: string[]): Promise<number> {
  const wanted = new Set(keys.map((k) => `${checkoutWorkflowId(stack.merchant.merchantId, k)}:charge`));
  return (await stubCharges(stack.stub)).filter((c) => wanted.has(c.idempotency_key)).length;
}

function outcomeCount(api: ListeningApi, outcome: string): Promise<number> {
  return metricValue(api, `checkout_outcomes_total{outcome="${outcome}"}`);
}

function retryAfterSeconds(headers: Headers): number {
  const value = headers.get('retry-after');
  expect(value, 'Retry-After header').toMatch(/^\d+$/);
  return Number(value);
}

describe('per-customer rate limit', () => {
  it('the 11th new checkout of a customer within a minute is 429 with Retry-After and runs nothing; replays and other customers go through', async () => {
    const customer = newCustomer();
    const keys = Array.from({ length: RATE_LIMIT }, (_, i) => uniqueKey(`rate-${i}`));
    const firstAnswers = [];
    for (const key of keys) {
      const res = await postCheckout(stack.api, key, checkoutBody({ customer_id: customer }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      firstAnswers.push(res);
    }

    const eleventh = uniqueKey('rate-11th');
    const limited = await postCheckout(stack.api, eleventh, checkoutBody({ customer_id: customer }));
    expect(limited.status).toBe(429);
    const retryAfter = retryAfterSeconds(limited.headers);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String), field: 'customer_id' } });

    // nothing ran for it: no payment row, no workflow, no charge
    expect(await paymentRowsFor([eleventh])).toBe(0);
    await expect(stack.client.workflow.getHandle(checkoutWorkflowId(stack.merchant.merchantId, eleventh)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(await chargesFor([eleventh])).toBe(0);

    // a replay of one of the first ten does not count and still answers
    const replay = await postCheckout(stack.api, keys[0], checkoutBody({ customer_id: customer }));
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(firstAnswers[0]?.body);

    // the limit is per customer
    const other = await postCheckout(stack.api, uniqueKey('rate-other'), checkoutBody({ customer_id: newCustomer() }));
    expect(other.status).toBe(201);

    // still limited, and still nothing charged beyond the first ten
    expect((await postCheckout(stack.api, uniqueKey('rate-12th'), checkoutBody({ customer_id: customer }))).status).toBe(429);
    expect(await chargesFor([...keys, eleventh])).toBe(RATE_LIMIT);
    expect(await outcomeCount(stack.api, 'rate_limited')).toBeGreaterThanOrEqual(2);
  });

  it('two api instances share one limit: 6 new checkouts through each, at once, give exactly 10 accepted and 2 × 429', async () => {
    const [a, b] = await Promise.all([anotherApi({}), anotherApi({})]);
    const customer = newCustomer();
    const keys = Array.from({ length: 12 }, (_, i) => uniqueKey(`shared-${i}`));
    const answers = await Promise.all(
      keys.map((key, i) => postCheckout(i % 2 === 0 ? a : b, key, checkoutBody({ customer_id: customer, amount_cents: 500 + i }))),
    );

    const statuses = answers.map((r) => r.status);
    // accepted: 201, or 202 when a busy machine passes the 3 s budget before the charge is done
    expect(statuses.filter((s) => s === 201 || s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    for (const r of answers.filter((x) => x.status === 429)) expect(retryAfterSeconds(r.headers)).toBeGreaterThanOrEqual(1);

    const admitted = keys.filter((_, i) => answers[i]?.status === 201);
    const refused = keys.filter((_, i) => answers[i]?.status === 429);
    expect(await paymentRowsFor(admitted)).toBe(10);
    expect(await paymentRowsFor(refused)).toBe(0);
    expect(await chargesFor(admitted)).toBe(10);
    expect(await chargesFor(refused)).toBe(0);
  });
});

describe('load shedding', () => {
  it('past maxInFlightCheckouts, new checkouts get 503 + Retry-After in milliseconds while the admitted ones finish', async () => {
    const api = await anotherApi({ maxInFlightCheckouts: 2 });
    await setFaults({ latency_ms: 2500 });
    const customer = newCustomer();
    const keys = Array.from({ length: 6 }, (_, i) => uniqueKey(`shed-${i}`));
    const answers = await Promise.all(
      keys.map((key, i) => timed(() => postCheckout(api, key, checkoutBody({ customer_id: customer, amount_cents: 700 + i })))),
    );

    const shed = answers.filter((r) => r.status === 503);
    const admitted = answers.filter((r) => r.status !== 503);
    expect(shed).toHaveLength(4);
    for (const r of shed) {
      expect(r.ms, 'a shed request is answered at once').toBeLessThan(200);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body.error.code).toBe('overloaded');
    }
    expect(admitted).toHaveLength(2);
    for (const r of admitted) expect([201, 202]).toContain(r.status);
    // shed before Postgres or Temporal: no row for those keys
    expect(await paymentRowsFor(keys.filter((_, i) => answers[i]?.status === 503))).toBe(0);
    expect(await outcomeCount(api, 'shed')).toBe(4);

    // the slots come back once the admitted checkouts have answered
    await setFaults({ latency_ms: 0 });
    const after = await postCheckout(api, uniqueKey('shed-after'), checkoutBody({ customer_id: customer }));
    expect(after.status).toBe(201);
  });
});

describe('a dependency down is a fast 503, never a hang', () => {
  it('Temporal unreachable: a new checkout is 503 + Retry-After within 1.5 s; /healthz 200 at once; /readyz 503', async () => {
    const port = await freePort(); // nothing listens there
    const connection = connectApiToTemporal(`127.0.0.1:${port}`);
    cleanups.push(() => connection.close());
    const api = await anotherApi({ client: new Client({ connection, namespace: 'default' }) });

    const key = uniqueKey('no-temporal');
    const res = await timed(() => postCheckout(api, key, checkoutBody({ customer_id: newCustomer() })));
    expect(res.status).toBe(503);
    expect(res.ms).toBeLessThan(1_500);
    expect(retryAfterSeconds(res.headers)).toBeGreaterThanOrEqual(1);
    expect(res.body.error.code).toBe('temporarily_unavailable');
    expect(await chargesFor([key])).toBe(0);

    const health = await timed(async () => ({ status: (await fetch(`${api.url}/healthz`)).status }));
    expect(health.status).toBe(200);
    expect(health.ms).toBeLessThan(200);

    const ready = await timed(async () => {
      const r = await fetch(`${api.url}/readyz`);
      return { status: r.status, body: (await r.json()) as { temporal: string; postgres: string } };
    });
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(1_500);
    expect(ready.body.temporal).toMatch(/^unreachable/);
    expect(ready.body.postgres).toBe('ok');
    expect(await outcomeCount(api, 'unavailable')).toBe(1);
  });

  it.each([
    ['refusing connections', false],
    ['accepting connections but never answering', true],
  ])('Postgres %s: a new checkout is 503 + Retry-After within 1.5 s (not a 500, not a hang); /readyz 503', async (_name, blackHole) => {
    const port = blackHole ? await silentListener() : await freePort();
    const pool: Pool = createPool(`postgres://postgres:postgres@127.0.0.1:${port}/checkout`, 2);
    cleanups.push(() => pool.end());
    const api = await anotherApi({ pool });

    const key = uniqueKey('no-postgres');
    const res = await timed(() => postCheckout(api, key, checkoutBody({ customer_id: newCustomer() })));
    expect(res.status).toBe(503);
    expect(res.ms).toBeLessThan(1_500);
    expect(retryAfterSeconds(res.headers)).toBeGreaterThanOrEqual(1);
    expect(res.body.error.code).toBe('temporarily_unavailable');
    await expect(stack.client.workflow.getHandle(checkoutWorkflowId(stack.merchant.merchantId, key)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(await chargesFor([key])).toBe(0);

    const health = await timed(async () => ({ status: (await fetch(`${api.url}/healthz`)).status }));
    expect(health.status).toBe(200);
    expect(health.ms).toBeLessThan(200);

    const ready = await timed(async () => {
      const r = await fetch(`${api.url}/readyz`);
      return { status: r.status, body: (await r.json()) as { temporal: string; postgres: string } };
    });
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(1_500);
    expect(ready.body.postgres).toMatch(/^unreachable/);
    expect(ready.body.temporal).toBe('ok');

    // reads too: 503, not 500
    expect((await fetch(`${api.url}/payments/pay_whatever`, { headers: authHeaders(api) })).status).toBe(503);
    expect(await outcomeCount(api, 'unavailable')).toBe(1);
  });
});

describe('a 503 leaves nothing behind', () => {
  async function deadTemporalApi(): Promise<ApiInstance> {
    const connection = connectApiToTemporal(`127.0.0.1:${await freePort()}`);
    cleanups.push(() => connection.close());
    return anotherApi({ client: new Client({ connection, namespace: 'default' }) });
  }

  async function paymentByKey(key: string): Promise<{ payment_id: string; status: string } | undefined> {
    const res = await stack.pool.query<{ payment_id: string; status: string }>(
      'SELECT payment_id, status FROM payments WHERE idempotency_key = $1',
      [key],
    );
    return res.rows[0];
  }

  it('a pending row whose workflow never started is swept, and its client can still come back with the key', async () => {
    const down = await deadTemporalApi();
    const customer = newCustomer();
    const abandoned = uniqueKey('abandoned');
    expect((await postCheckout(down, abandoned, checkoutBody({ customer_id: customer }))).status).toBe(503);
    const orphan = await paymentByKey(abandoned);
    expect(orphan?.status).toBe('pending');
    // a checkout still running: its row is pending too, but it has a workflow
    await setFaults({ latency_ms: 5_000 });
    const running = uniqueKey('running');
    expect((await postCheckout(stack.api, running, checkoutBody({ customer_id: customer }))).status).toBe(202);

    const sweep = await sweepOrphanPayments({ client: stack.client, pool: stack.pool, logger: testLogger, staleAfterMs: 200 });
    await setFaults({ latency_ms: 0 });
    expect(await paymentByKey(abandoned)).toBeUndefined();
    expect(sweep.deleted).toContain(orphan?.payment_id);
    expect((await paymentByKey(running))?.status).toMatch(/^(pending|completed)$/);

    // the abandoned client retries after the sweep: a fresh checkout, one charge
    const again = await postCheckout(stack.api, abandoned, checkoutBody({ customer_id: customer }));
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(await chargesFor([abandoned])).toBe(1);
  });

  it('the sweeper never deletes a row whose start was attempted within its window (a client retry in flight wins)', async () => {
    const down = await deadTemporalApi();
    const key = uniqueKey('retry-in-flight');
    expect((await postCheckout(down, key, checkoutBody({ customer_id: newCustomer() }))).status).toBe(503);
    const row = await paymentByKey(key);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // what the api does for an existing pending row just before it starts the workflow
    expect(await markStartAttempt(stack.pool, row!.payment_id, Date.now() + 1_000)).toBe(true);
    expect(await deleteOrphanPayment(stack.pool, row!.payment_id, 300)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await deleteOrphanPayment(stack.pool, row!.payment_id, 300)).toBe(true);
    // and an api that finds its row gone reserves a new one
    expect(await markStartAttempt(stack.pool, row!.payment_id, Date.now() + 1_000)).toBe(false);
  });
});

/** A TCP port that accepts connections and never says a word (a hung database). */
async function silentListener(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}
