// The front door against clients that misbehave on purpose or by accident
// (docs/design.md, "Front door protection"): connections that trickle their
// bodies or never finish their headers, too many connections, idle keep-alives,
// and text Postgres cannot store or a path that cannot be decoded. Black-box over
// HTTP and raw TCP against the real parts.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../api/build';
import type { RunningApi } from '../../api/server';
import { loadApiConfig } from '../../config';
import { ConfigError } from '../../errors';
import { checkoutWorkflowId } from '../../domain/ids';
import { startSlowBodyAttack } from '../../drills/scenarios/slow-clients';
import { authHeaders, checkoutBody, postCheckout, startTestStack, stubCharges, testApiConfig, testLogger, uniqueKey, type TestStack } from '../support/stack';

let stack: TestStack;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((err: unknown) => console.error(err));
  await stack?.stop();
});

/** An api instance wired as api/main.ts wires it (buildApi, then listen with the config's server settings), called with the stack's key. */
async function hardenedApi(env: Record<string, string> = {}): Promise<RunningApi & { apiKey: string }> {
  const config = testApiConfig({ TEMPORAL_TASK_QUEUE: stack.taskQueue, MAX_IN_FLIGHT_CHECKOUTS: '200', ...env });
  const built = buildApi(config, { client: stack.client, pool: stack.pool, logger: testLogger });
  const api = await built.listen(0);
  cleanups.push(() => api.close());
  return { ...api, apiKey: stack.api.apiKey };
}

async function timed<T>(run: () => Promise<T>): Promise<T & { ms: number }> {
  const started = performance.now();
  const result = await run();
  return { ...result, ms: performance.now() - started };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw connection: what it sent, what came back, when the server closed it. */
function rawConnection(api: RunningApi, firstBytes: string): Promise<{ socket: net.Socket; closed: Promise<{ afterMs: number; answer: string }> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: api.port });
    const started = performance.now();
    let answer = '';
    const closed = new Promise<{ afterMs: number; answer: string }>((done) => {
      socket.on('close', () => done({ afterMs: performance.now() - started, answer }));
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      if (firstBytes) socket.write(firstBytes);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
    cleanups.push(() => {
      socket.destroy();
    });
  });
}

/** Resolves with the close, or undefined if the connection is still open after ms. */
async function closedWithin(closed: Promise<{ afterMs: number; answer: string }>, ms: number) {
  return Promise.race([closed, sleep(ms).then(() => undefined)]);
}

describe('slow clients', () => {
  it('250 connections trickling their bodies hold no checkout slot: real checkouts keep getting 201 within the budget, and the slow ones are cut after API_REQUEST_TIMEOUT_MS', async () => {
    const api = await hardenedApi(); // MAX_IN_FLIGHT_CHECKOUTS 200, the server settings' defaults
    const requestTimeoutMs = 5_000; // API_REQUEST_TIMEOUT_MS's default (the config test below checks it)
    const attack = startSlowBodyAttack(api.url, { connections: 250, byteEveryMs: 500, maxOpens: 250, apiKey: api.apiKey }); // no reconnects here
    cleanups.push(() => void attack.stop());
    await sleep(1_000); // every slow request has sent its headers and started its body

    const answers: Array<{ status: number; ms: number; body: unknown }> = [];
    for (let round = 0; round < 2; round += 1) {
      const batch = await Promise.all(
        Array.from({ length: 5 }, () => timed(() => postCheckout(api, uniqueKey('slow-attack-real'), checkoutBody()))),
      );
      answers.push(...batch.map((a) => ({ status: a.status, ms: a.ms, body: a.body })));
      await sleep(1_000);
    }
    expect(answers.map((a) => a.status), JSON.stringify(answers.find((a) => a.status !== 201)?.body)).toEqual(Array(10).fill(201));
    for (const a of answers) expect(a.ms).toBeLessThan(3_500);

    // no slow request outlives the request timeout (plus the server's 1 s check and a margin)
    const deadline = performance.now() + requestTimeoutMs + 2_500;
    while (attack.openNow() > 0 && performance.now() < deadline) await sleep(200);
    const stats = attack.stop();
    expect(stats.openAtStop, `${stats.openAtStop} slow connections still open, the oldest ${stats.oldestAtStopMs.toFixed(0)} ms`).toBe(0);
    expect(stats.closedByServer).toBe(250);
    expect(stats.answers).toEqual({ '408': 250 });
    expect(Math.max(...stats.lifetimesMs)).toBeLessThan(requestTimeoutMs + 2_000);
  });

  it('a connection that never finishes its headers is answered 408 and closed after API_HEADERS_TIMEOUT_MS', async () => {
    const api = await hardenedApi({ API_HEADERS_TIMEOUT_MS: '1000', API_REQUEST_TIMEOUT_MS: '2000' });
    const { closed } = await rawConnection(api, 'POST /checkout HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const result = await closedWithin(closed, 4_000);
    expect(result, 'still open after 4 s').toBeDefined();
    expect(result!.afterMs).toBeGreaterThanOrEqual(900);
    expect(result!.afterMs).toBeLessThan(2_500);
    expect(result!.answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('an idle keep-alive connection is closed after API_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const api = await hardenedApi({ API_KEEP_ALIVE_TIMEOUT_MS: '1000' });
    const { closed } = await rawConnection(api, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const result = await closedWithin(closed, 4_000);
    expect(result, 'still open after 4 s').toBeDefined();
    expect(result!.answer).toMatch(/^HTTP\/1\.1 200/);
    expect(result!.answer).toMatch(/Keep-Alive: timeout=1\b/i);
    expect(result!.afterMs).toBeLessThan(2_500);
  });

  it('past API_MAX_CONNECTIONS a new connection is closed at once; once one frees, requests are served again', async () => {
    const api = await hardenedApi({ API_MAX_CONNECTIONS: '20' });
    const held = await Promise.all(Array.from({ length: 20 }, () => rawConnection(api, '')));
    await sleep(100);
    const { closed } = await rawConnection(api, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const over = await closedWithin(closed, 1_000);
    expect(over, 'the 21st connection was not closed').toBeDefined();
    expect(over!.answer).toBe('');

    for (const { socket } of held) socket.destroy();
    await sleep(100);
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
  });
});

describe('the server settings come from config.ts', () => {
  it('has defaults inside the 3 s api and 10 s edge budgets, reads each variable, and refuses an inverted set', () => {
    expect(loadApiConfig({}).server).toEqual({ headersTimeoutMs: 3_000, requestTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000, maxConnections: 1_000 });
    expect(
      loadApiConfig({ API_HEADERS_TIMEOUT_MS: '2000', API_REQUEST_TIMEOUT_MS: '4000', API_KEEP_ALIVE_TIMEOUT_MS: '7000', API_MAX_CONNECTIONS: '50' }).server,
    ).toEqual({ headersTimeoutMs: 2_000, requestTimeoutMs: 4_000, keepAliveTimeoutMs: 7_000, maxConnections: 50 });
    expect(() => loadApiConfig({ API_HEADERS_TIMEOUT_MS: '6000' })).toThrow(ConfigError);
    expect(() => loadApiConfig({ API_HEADERS_TIMEOUT_MS: '6000' })).toThrow(/API_HEADERS_TIMEOUT_MS \(6000\) must not exceed API_REQUEST_TIMEOUT_MS \(5000\)/);
    expect(() => loadApiConfig({ API_REQUEST_TIMEOUT_MS: '10000' })).toThrow(/API_REQUEST_TIMEOUT_MS \(10000\) must be less than EDGE_BUDGET_MS \(10000\)/);
    expect(() => loadApiConfig({ API_MAX_CONNECTIONS: '0' })).toThrow(/API_MAX_CONNECTIONS/);
  });
});

describe('text Postgres cannot store, and paths that cannot be decoded, are 400s naming the field', () => {
  it.each(['customer_id', 'payment_method_id'])('a NUL in %s is 400 invalid_request naming it; nothing is written or charged', async (field) => {
    const key = uniqueKey('nul');
    const res = await postCheckout(stack.api, key, checkoutBody({ [field]: 'abc\u0000def' }));
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body).toEqual({ error: { code: 'invalid_request', message: expect.stringContaining(field), field } });
    const rows = await stack.pool.query('SELECT count(*)::int AS n FROM payments WHERE idempotency_key = $1', [key]);
    expect(rows.rows[0].n).toBe(0);
    expect((await stubCharges(stack.stub)).filter((c) => c.idempotency_key === `${checkoutWorkflowId(stack.merchant.merchantId, key)}:charge`)).toHaveLength(0);
  });

  it.each([
    ['a control character', 'cust\u0007bell', 'customer_id'],
    ['an unpaired surrogate', 'cust\ud800', 'customer_id'],
    ['a newline', 'pm_card_visa\n', 'payment_method_id'],
  ])('%s in an id is 400 naming the field', async (_what, value, field) => {
    const res = await postCheckout(stack.api, uniqueKey('ctl'), checkoutBody({ [field]: value }));
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field });
  });

  it('ids made of other Unicode are still fine', async () => {
    const res = await postCheckout(stack.api, uniqueKey('unicode'), checkoutBody({ customer_id: 'Zoë 😀 東京' }));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it.each([
    ['/payments/%E0', 'payment_id'],
    ['/payments/pay_%C3%28', 'payment_id'],
    ['/payments/pay_%', 'payment_id'],
    ['/payments/pay_%00x', 'payment_id'],
    ['/webhook-endpoints/%E0', 'endpoint_id'],
    ['/webhook-endpoints/we_%00/disable', 'endpoint_id'],
    ['/webhook-deliveries/%FF/redeliver', 'delivery_id'],
    ['/no-such-route/%E0', 'path'],
  ])('GET or POST %s is 400 naming %s, not a 500', async (path, field) => {
    const method = path.endsWith('/disable') || path.endsWith('/redeliver') ? 'POST' : 'GET';
    const res = await fetch(`${stack.api.url}${path}`, { method, headers: { ...authHeaders(stack.api), 'content-type': 'application/json' } });
    const body = (await res.json()) as { error: { code: string; message: string; field?: string } };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body).toEqual({ error: { code: 'invalid_path', message: expect.any(String), field } });
  });

  it.each([
    ['/reconciliation/runs?schedule_id=a%00b', 'schedule_id'],
    ['/webhook-deliveries?endpoint_id=%00', 'endpoint_id'],
  ])('a NUL in a query value (%s) is 400 naming %s', async (path, field) => {
    const res = await fetch(`${stack.api.url}${path}`, { headers: authHeaders(stack.api) });
    const body = (await res.json()) as { error: { code: string; field?: string } };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_request', field });
  });

  it('a NUL in a webhook endpoint url is 400 naming url', async () => {
    const res = await fetch(`${stack.api.url}/webhook-endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(stack.api) },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/hook\u0000', events: ['payment.completed'] }),
    });
    const body = (await res.json()) as { error: { code: string; field?: string } };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_request', field: 'url' });
  });

  it('a body the declared Content-Encoding cannot inflate is 400, not a 500', async () => {
    const res = await fetch(`${stack.api.url}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'idempotency-key': uniqueKey('gzip'), ...authHeaders(stack.api) },
      body: JSON.stringify(checkoutBody()),
    });
    const body = (await res.json()) as { error: { code: string } };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error.code).toBe('invalid_body');
  });
});
