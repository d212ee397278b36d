// One checkout's trace, end to end, through the in-process stack with tracing
// on and an in-memory exporter: the HTTP request, the workflow start, the
// workflow, each activity (local ones too), the provider call, and the webhook
// delivery the checkout causes, all in one trace with the right parents; the
// caller's traceparent continued; X-Request-Id on every answer and, with the
// trace id, in the api's and the activities' log lines. The tree is printed
// and written to test-output/checkout-trace.txt.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { TRACE_HEADER as LIBRARY_TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutWorkflowId } from '../../domain/ids';
import { createLogger } from '../../logger';
import { workerTracing } from '../../observability/temporal-worker';
import { startTracing, type Tracing } from '../../observability/tracing';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../../worker/create-worker';
import { TRACE_HEADER } from '../../workflows/tracing-interceptors';
import { authHeaders, checkoutBody, postCheckout, startTestStack, uniqueKey, type TestStack } from '../support/stack';

const OUTPUT = path.join(__dirname, '..', '..', 'test-output', 'checkout-trace.txt');
const HISTORIES_DIR = path.join(__dirname, '..', 'histories');

let exporter: InMemorySpanExporter;
let tracing: Tracing;
let stack: TestStack;
let receiver: { url: string; received: number; close(): Promise<void> };
let endpointId: string | undefined;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  exporter = new InMemorySpanExporter();
  // before the stack: its Temporal client and Workers take their tracing from it, as in api/main.ts
  tracing = startTracing({ serviceName: 'checkout-test', config: { sampleRatio: 1 }, exporter });
  const logger = createLogger('test', 'info', { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  stack = await startTestStack({ logger, webhooks: { dispatchIntervalMs: 200 } });
  receiver = await startReceiver();
  const created = await fetch(`${stack.api.url}/webhook-endpoints`, {
    method: 'POST',
    headers: { ...authHeaders(stack.api), 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url, events: ['payment.completed'] }),
  });
  expect(created.status).toBe(201);
  endpointId = ((await created.json()) as { id: string }).id;
});

afterAll(async () => {
  // test files share the database: leave no endpoint for later events to fan out to
  if (endpointId) await fetch(`${stack.api.url}/webhook-endpoints/${endpointId}`, { method: 'DELETE', headers: authHeaders(stack.api) });
  await stack?.stop();
  await receiver?.close();
  await tracing?.shutdown();
});

/** A loopback webhook endpoint that answers 204 to everything. */
async function startReceiver(): Promise<typeof receiver> {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    get received() {
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls until probe gives a value; fails naming `what` after timeoutMs (a bound on waiting, not a timing assertion). */
async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const hex = (bytes: number) => crypto.randomBytes(bytes).toString('hex');
const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);

/** The one span of the trace with this name under parent (or anywhere); fails if there is none or more than one. */
function only(spans: ReadableSpan[], name: string, parent?: ReadableSpan): ReadableSpan {
  const found = spans.filter((s) => s.name === name && (!parent || s.parentSpanId === parent.spanContext().spanId));
  expect(found.map((s) => s.name), `${name} under ${parent?.name ?? 'the trace'}`).toEqual([name]);
  return found[0] as ReadableSpan;
}

/**
 * The trace as an indented tree, children in start order: each span's name,
 * kind and duration (a workflow's spans run on workflow time), and the
 * attributes that identify it where they first appear on the path.
 */
function treeText(spans: ReadableSpan[]): string {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const childrenOf = (id: string | undefined) =>
    spans.filter((s) => (id === undefined ? !s.parentSpanId || !byId.has(s.parentSpanId) : s.parentSpanId === id)).sort((a, b) => startOf(a) - startOf(b));
  const shown = ['request_id', 'http.route', 'http.response.status_code', 'merchant.id', 'checkout.workflow_id', 'payment.id', 'url.full', 'webhook.event_type'];
  const lines: string[] = [];
  // whether an ancestor already shows key=value
  const shownAbove = (span: ReadableSpan, key: string, value: unknown): boolean => {
    const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    return parent !== undefined && (parent.attributes[key] === value || shownAbove(parent, key, value));
  };
  const walk = (span: ReadableSpan, depth: number) => {
    const attributes = shown.filter((k) => span.attributes[k] !== undefined && !shownAbove(span, k, span.attributes[k])).map((k) => `${k}=${String(span.attributes[k])}`);
    const ms = (span.duration[0] * 1e3 + span.duration[1] / 1e6).toFixed(1);
    lines.push(`${'  '.repeat(depth)}${span.name} [${SpanKind[span.kind]}, ${ms} ms]${attributes.length ? ` ${attributes.join(' ')}` : ''}`);
    for (const child of childrenOf(span.spanContext().spanId)) walk(child, depth + 1);
  };
  for (const root of childrenOf(undefined)) walk(root, 0);
  return lines.join('\n');
}

function startOf(span: ReadableSpan): number {
  return span.startTime[0] * 1e9 + span.startTime[1];
}

describe('one checkout, one trace', () => {
  const traceId = hex(16);
  const callerSpanId = hex(8);
  const requestId = `trace-test.${crypto.randomUUID()}`;
  const key = uniqueKey('traced');
  let paymentId: string;
  let spans: ReadableSpan[];

  it('continues the caller\'s traceparent from the HTTP request to the provider call and the webhook delivery', async () => {
    const res = await fetch(`${stack.api.url}/checkout`, {
      method: 'POST',
      headers: {
        ...authHeaders(stack.api),
        'content-type': 'application/json',
        'idempotency-key': key,
        traceparent: `00-${traceId}-${callerSpanId}-01`,
        'x-request-id': requestId,
      },
      body: JSON.stringify(checkoutBody()),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    paymentId = ((await res.json()) as { payment_id: string }).payment_id;
    const workflowId = checkoutWorkflowId(stack.merchant.merchantId, key);

    // the trace is whole once the webhook's POST (under the delivery activity) and every span that
    // ends after it have ended: a workflow's span ends with the workflow, a task after its last activity
    const endLast = ['POST /checkout', 'RunWorkflow:checkout', 'RunWorkflow:webhookDelivery'];
    spans = await waitFor('the webhook delivery in the checkout\'s trace', () => {
      const now = spansOf(traceId);
      const delivery = now.find((s) => s.name === 'RunActivity:deliverWebhook');
      const whole = delivery && now.some((s) => s.parentSpanId === delivery.spanContext().spanId) && endLast.every((name) => now.some((s) => s.name === name));
      return whole ? now : undefined;
    });
    const tree = treeText(spans);
    console.log(`one checkout's trace (${traceId}):\n${tree}`);
    fs.mkdirSync(path.dirname(OUTPUT), { recursive: true });
    fs.writeFileSync(OUTPUT, `# one checkout's trace, from test/integration/tracing.test.ts\n# trace ${traceId}\n${tree}\n`);

    // the request: a server span continuing the caller's span
    const server = only(spans, 'POST /checkout');
    expect(server.parentSpanId).toBe(callerSpanId);
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/checkout', 'http.response.status_code': 201, request_id: requestId });
    expect(server.attributes['merchant.id']).toBe(stack.merchant.merchantId);

    // its workflow start, the workflow, and each step as its StartActivity (the workflow's) and RunActivity (the worker's)
    const ids = { 'checkout.workflow_id': workflowId, 'payment.id': paymentId, 'merchant.id': stack.merchant.merchantId };
    const start = only(spans, 'StartWorkflow:checkout', server);
    expect(start.attributes).toMatchObject(ids);
    const run = only(spans, 'RunWorkflow:checkout', start);
    expect(run.attributes).toMatchObject(ids);
    const steps = ['checkFraud', 'chargePayment', 'recordCompletedPayment', 'notifyCustomer'];
    const ran = Object.fromEntries(
      steps.map((step) => {
        const scheduled = only(spans, `StartActivity:${step}`, run);
        expect(scheduled.attributes).toMatchObject(ids);
        const activity = only(spans, `RunActivity:${step}`, scheduled);
        expect(activity.attributes['checkout.workflow_id']).toBe(workflowId);
        return [step, activity];
      }),
    );

    // the provider call: undici's client span under the charge, to the stub
    const charge = only(spans, 'POST', ran.chargePayment);
    expect(charge.kind).toBe(SpanKind.CLIENT);
    expect(String(charge.attributes['url.full'])).toContain(stack.stub.url);
    expect(charge.attributes['http.response.status_code']).toBeGreaterThanOrEqual(200);

    // the webhook the checkout caused: dispatched in the recording step's trace, delivered by its own workflow
    const dispatch = only(spans, 'dispatch webhook event', ran.recordCompletedPayment);
    const deliveryStart = only(spans, 'StartWorkflow:webhookDelivery', dispatch);
    const deliveryRun = only(spans, 'RunWorkflow:webhookDelivery', deliveryStart);
    const deliver = only(spans, 'RunActivity:deliverWebhook', only(spans, 'StartActivity:deliverWebhook', deliveryRun));
    const post = only(spans, 'POST', deliver);
    expect(String(post.attributes['url.full'])).toBe(receiver.url);
    expect(receiver.received).toBeGreaterThanOrEqual(1);

    // nothing of this checkout landed in another trace
    const elsewhere = exporter.getFinishedSpans().filter((s) => s.attributes['checkout.workflow_id'] === workflowId && s.spanContext().traceId !== traceId);
    expect(elsewhere.map((s) => s.name)).toEqual([]);
  });

  it("puts the request id and the trace id in the api's and the activities' log lines", () => {
    const answered = logLines.find((l) => l.msg === 'checkout answered' && l.request_id === requestId);
    expect(answered, 'the api\'s "checkout answered" line').toMatchObject({ request_id: requestId, trace_id: traceId });
    const charged = logLines.find((l) => l.msg === 'charged' && l.request_id === requestId);
    expect(charged, 'the charge activity\'s "charged" line').toMatchObject({ request_id: requestId, trace_id: traceId, activity: 'chargePayment' });
  });

  it('logs a line with fields outside any request or activity (nothing of a request on it)', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger('test', 'info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    logger.info({ schedule: 'reconciliation' }, 'outside');
    logger.info({ again: true }, 'outside again');
    expect(lines.map(({ msg, schedule, again, request_id, trace_id }) => ({ msg, schedule, again, request_id, trace_id }))).toEqual([
      { msg: 'outside', schedule: 'reconciliation', again: undefined, request_id: undefined, trace_id: undefined },
      { msg: 'outside again', schedule: undefined, again: true, request_id: undefined, trace_id: undefined },
    ]);
  });

  it('replays the traced checkout and the recorded histories with the tracing interceptors in the bundle', async () => {
    // the workflow module tells a traced start by the header the library's client interceptor writes
    expect(TRACE_HEADER).toBe(LIBRARY_TRACE_HEADER);
    const traced = await stack.client.workflow.getHandle(checkoutWorkflowId(stack.merchant.merchantId, key)).fetchHistory();
    const recorded = fs
      .readdirSync(HISTORIES_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ workflowId: f, history: JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8')) }));
    const histories = [{ workflowId: 'traced', history: traced }, ...recorded];
    const options = { workflowsPath: WORKFLOWS_PATH, interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }, sinks: workerTracing().sinks, dataConverter: stack.dataConverter };
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(options, histories)) {
      expect(result.error, result.workflowId).toBeUndefined();
      replayed += 1;
    }
    expect(replayed).toBe(histories.length);
  });
});

describe('X-Request-Id and a new trace', () => {
  it('starts a trace of its own without a traceparent, and generates a request id', async () => {
    const res = await postCheckout(stack.api, uniqueKey('untraced'), checkoutBody());
    expect(res.status).toBe(201);
    const requestId = res.headers.get('x-request-id') ?? '';
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const server = await waitFor('the request\'s span', () => exporter.getFinishedSpans().find((s) => s.attributes.request_id === requestId));
    expect(server.parentSpanId).toBeUndefined();
    const start = await waitFor('its workflow start', () => spansOf(server.spanContext().traceId).find((s) => s.name === 'StartWorkflow:checkout'));
    expect(start.parentSpanId).toBe(server.spanContext().spanId);
  });

  it('replaces an unusable one and answers with one on errors, 404s and /healthz', async () => {
    for (const bad of ['has spaces', 'x'.repeat(129), 'semi;colon', '']) {
      const res = await fetch(`${stack.api.url}/healthz`, { headers: { 'x-request-id': bad } });
      const answered = res.headers.get('x-request-id');
      expect(answered, JSON.stringify(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
    const kept = 'a.B-9:z0'.repeat(16);
    expect((await fetch(`${stack.api.url}/healthz`, { headers: { 'x-request-id': kept } })).headers.get('x-request-id')).toBe(kept);
    const missing = await fetch(`${stack.api.url}/no-such-route`, { headers: authHeaders(stack.api) });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const unauthenticated = await postCheckout({ url: stack.api.url }, uniqueKey('nokey'), checkoutBody());
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
