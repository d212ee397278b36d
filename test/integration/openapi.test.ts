// The OpenAPI document (api/openapi/) is valid, names every route the router
// has, carries an example per operation, and the api's answers match it. Every
// answer the integration tests receive is held to it as well (contract-setup.ts).
import Ajv2020 from 'ajv/dist/2020';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../api/build';
import { buildOpenApiDocument } from '../../api/openapi/document';
import { createContractChecker, type RecordedAnswer } from '../support/contract-check';
import { bearer, createTestKey } from '../support/merchants';
import { appRoutes } from '../support/routes';
import { checkoutBody, startTestStack, testApiConfig, testLogger, uniqueKey, type TestStack } from '../support/stack';

type Json = Record<string, unknown>;
const document = buildOpenApiDocument();
const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ path, method, operation: operation as Json & { responses: Record<string, Json> } })),
);

/** Each example in the document with the schema it must match. */
function examples(): Array<{ where: string; schema: Json; example: unknown }> {
  const found: Array<{ where: string; schema: Json; example: unknown }> = [];
  for (const { path, method, operation } of operations) {
    const at = `${method.toUpperCase()} ${path}`;
    for (const p of (operation.parameters ?? []) as Json[]) {
      if (p.example !== undefined) found.push({ where: `${at} parameter ${String(p.name)}`, schema: p.schema as Json, example: p.example });
    }
    const body = (operation.requestBody as { content: Record<string, Json> } | undefined)?.content['application/json'];
    if (body) found.push({ where: `${at} request body`, schema: body.schema as Json, example: body.example });
    for (const [status, response] of Object.entries(operation.responses)) {
      for (const [type, media] of Object.entries((response.content ?? {}) as Record<string, Json>)) {
        if (media.example !== undefined && type === 'application/json') found.push({ where: `${at} ${status}`, schema: media.schema as Json, example: media.example });
      }
    }
  }
  return found;
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with the bearer-key scheme for every route but the open ones', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes).toEqual({ apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    expect(document.security).toEqual([{ apiKey: [] }]);
    const open = operations.filter(({ operation }) => Array.isArray(operation.security) && operation.security.length === 0);
    expect(open.map(({ method, path }) => `${method.toUpperCase()} ${path}`).sort()).toEqual(['GET /docs', 'GET /healthz', 'GET /openapi.json', 'GET /readyz', 'OPTIONS /codec/decode', 'OPTIONS /codec/encode']);
    for (const { path, method, operation } of operations) {
      if (open.some((o) => o.path === path && o.method === method)) continue;
      expect(Object.keys(operation.responses), path).toEqual(expect.arrayContaining(['401', '403', '429', '503']));
      expect((operation.responses['401']?.headers as Json)['WWW-Authenticate']).toMatchObject({ required: true });
    }
  });

  it('every operation has an id, a summary, an example, X-Request-Id on every answer, and the checkout its headers', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const withExamples = new Set(examples().map((e) => e.where.split(' ').slice(0, 2).join(' ')));
    for (const { path, method, operation } of operations) {
      expect(operation.summary, path).toEqual(expect.any(String));
      // the docs page is HTML: its example is on the text/html answer
      if (path !== '/docs') expect(withExamples.has(`${method.toUpperCase()} ${path}`), `${method} ${path} has no example`).toBe(true);
      for (const [status, response] of Object.entries(operation.responses)) {
        expect((response.headers as Json)['X-Request-Id'], `${method} ${path} ${status}`).toMatchObject({ required: false, schema: { type: 'string' } });
      }
    }
    const checkout = document.paths['/checkout']?.post as { parameters: Json[]; responses: Record<string, { headers: Json }> };
    expect(checkout.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }));
    expect(Object.keys(checkout.responses)).toEqual(['200', '201', '202', '400', '401', '402', '403', '408', '413', '415', '422', '429', '500', '502', '503']);
    expect(checkout.responses['200']?.headers['Idempotent-Replayed']).toMatchObject({ required: true });
    expect(checkout.responses['202']?.headers).toMatchObject({ Location: { required: true }, 'Retry-After': { required: true } });
    expect(checkout.responses['429']?.headers['Retry-After']).toMatchObject({ required: true });
    expect(checkout.responses['503']?.headers['Retry-After']).toMatchObject({ required: true });
  });

  it('every schema compiles as JSON Schema 2020-12, and every example matches its schema', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    const { schemas } = document.components as { schemas: Json };
    const found = examples();
    expect(found.length).toBeGreaterThan(operations.length);
    const wrong: string[] = [];
    for (const { where, schema, example } of found) {
      const validate = ajv.compile({ ...schema, components: { schemas } });
      if (!validate(example)) wrong.push(`${where}: ${ajv.errorsText(validate.errors)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('documents every route the router has, and no other', async () => {
    // only the router is read: no client or pool behind it, so no database breaker to watch the pool
    const stub = { client: {} as never, pool: {} as never, logger: testLogger };
    const routes = appRoutes(buildApi(testApiConfig({ DB_BREAKER: '0' }), stub).app).map((r) => `${r.method} ${r.path.replace(/:\w+/g, '{}')}`);
    const documented = operations.map(({ method, path }) => `${method.toUpperCase()} ${path.replace(/\{\w+\}/g, '{}')}`);
    expect([...new Set(routes)].sort()).toEqual(documented.sort());
  });
});

describe('the document served, and answers held to it', () => {
  let stack: TestStack;
  const check = createContractChecker(document);

  async function call(method: string, path: string, options: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<RecordedAnswer> {
    const headers: Record<string, string> = { ...(options.key === null ? {} : bearer(options.key ?? stack.api.apiKey)), ...options.headers };
    if (method !== 'GET') headers['content-type'] ??= 'application/json';
    const res = await fetch(`${stack.api.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    return { method, path: new URL(res.url).pathname, status: res.status, headers: Object.fromEntries(res.headers), body: await res.text(), test: 'openapi.test.ts' };
  }

  beforeAll(async () => {
    stack = await startTestStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('GET /openapi.json, without a key, is the document', async () => {
    const res = await fetch(`${stack.api.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('GET /docs, without a key, is the page under a CSP, with only the assets it loads, from this process', async () => {
    const page = await fetch(`${stack.api.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui.css', '/docs/assets/swagger-ui-bundle.js', '/docs/assets/init.js']));
    for (const asset of assets) expect((await fetch(`${stack.api.url}${asset}`)).status, asset).toBe(200);
    // the package's own demo page and initializer are not served
    expect((await fetch(`${stack.api.url}/docs/assets/index.html`)).status).toBe(404);
    expect((await fetch(`${stack.api.url}/docs/assets/swagger-initializer.js`)).status).toBe(404);
  });

  it('answers of every kind, from success to refusal, match the document', async () => {
    const key = uniqueKey('openapi');
    const created = await call('POST', '/checkout', { body: checkoutBody(), headers: { 'idempotency-key': key } });
    const paymentId = (JSON.parse(created.body) as { payment_id: string }).payment_id;
    const admin = (await createTestKey(stack.pool, null, 'admin')).apiKey;
    const answers = [
      created,
      await call('POST', '/checkout', { body: checkoutBody(), headers: { 'idempotency-key': key } }),
      await call('POST', '/checkout', { body: checkoutBody({ amount_cents: 1 }), headers: { 'idempotency-key': key } }),
      await call('POST', '/checkout', { body: checkoutBody({ payment_method_id: 'pm_declined' }), headers: { 'idempotency-key': uniqueKey('declined') } }),
      await call('POST', '/checkout', { body: checkoutBody({ amount_cents: 1.5 }), headers: { 'idempotency-key': uniqueKey('float') } }),
      await call('POST', '/checkout', { body: checkoutBody() }),
      await call('POST', '/checkout', { body: checkoutBody(), headers: { 'content-type': 'text/plain' } }),
      await call('POST', '/checkout', { key: null, body: checkoutBody() }),
      await call('GET', `/payments/${paymentId}`),
      await call('GET', '/payments/pay_never_made'),
      await call('GET', '/webhook-endpoints'),
      await call('POST', '/webhook-endpoints', { body: { url: 'ftp://example.com', events: ['payment.completed'] } }),
      await call('GET', '/webhook-deliveries?limit=0'),
      await call('GET', '/reconciliation/runs'),
      await call('GET', '/reconciliation/runs?limit=2', { key: admin }),
      await call('GET', '/healthz', { key: null }),
      await call('GET', '/readyz', { key: null }),
      await call('GET', '/docs', { key: null }),
      await call('GET', '/no-such-route'),
    ];
    expect(answers.map((a) => a.status)).toEqual([201, 200, 422, 402, 400, 400, 415, 401, 200, 404, 200, 400, 400, 403, 200, 200, 200, 200, 404]);
    expect(answers.flatMap(check)).toEqual([]);
  });

  it('the check catches an answer that drifted from the document', () => {
    const completed = { payment_id: 'pay_1', status: 'completed', amount_cents: 1, currency: 'USD', provider_charge_id: 'ch_1', created_at: '2025-05-01T12:00:00.000Z' };
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): RecordedAnswer => ({
      method: 'POST',
      path: '/checkout',
      status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body: JSON.stringify(body),
      test: 'drift',
    });
    expect(check(answer(201, completed))).toEqual([]);
    expect(check(answer(201, { ...completed, surprise: true })).join()).toContain('must NOT have additional properties');
    expect(check(answer(418, completed)).join()).toContain('status 418 is not documented');
    expect(check(answer(200, completed)).join()).toContain('required header Idempotent-Replayed is missing');
    expect(check(answer(201, completed, { 'retry-after': '1' })).join()).toContain('header Retry-After is sent but not documented');
    expect(check(answer(429, { error: { code: 'not_a_code', message: 'x' } }, { 'retry-after': '1' })).join()).toContain('must be equal to one of the allowed values');
  });
});
