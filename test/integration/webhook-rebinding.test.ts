// DNS rebinding: a delivery checks its endpoint's name again and connects to
// the address that check resolved, never to what a second lookup would say.
// Only loopback listeners are real here. Names end in .test, which real DNS
// never resolves, and go to a fake resolver, which answers a public address
// only to the registration check (no delivery is ever made with it): so even
// a sender that wrongly looked the name up again could reach nothing.
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookHttpAgent } from '../../activities/webhooks/activities';
import { createWebhookSender } from '../../activities/webhooks/send';
import { checkWebhookTarget, type ResolvedAddress, type ResolveHost } from '../../outbound/webhook-target';

const HOST = 'hooks.rebind.test';
const PUBLIC_AT_REGISTRATION: ResolvedAddress = { address: '93.184.215.14', family: 4 };
const LOOPBACK: ResolvedAddress = { address: '127.0.0.1', family: 4 };

/** Answers each call with the next answer (the last one from then on), and counts the calls. */
function resolverAnswering(...answers: ResolvedAddress[]): ResolveHost & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    return [answers[Math.min(calls.length, answers.length) - 1] as ResolvedAddress];
  };
  return Object.assign(resolve, { calls });
}

interface Received {
  method?: string;
  url?: string;
  host?: string;
  body: string;
}

/** A loopback HTTP listener that counts every connection, not only the requests that got through. */
async function listen(host: string) {
  const received: Received[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, host: req.headers.host, body });
      res.writeHead(204).end();
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// every connection undici opens in this process: where it went, and under which TLS server name
const connects: Array<{ hostname: string; port: string; servername: string | null }> = [];
const onConnect = (message: unknown) => {
  const { connectParams } = message as { connectParams: { hostname: string; port: string; servername: string | null } };
  connects.push({ hostname: connectParams.hostname, port: String(connectParams.port), servername: connectParams.servername });
};

const agent = createWebhookHttpAgent(1_000);
const closers: Array<() => Promise<void>> = [];
const signal = new AbortController().signal;
const BODY = JSON.stringify({ type: 'payment.completed', data: { payment_id: 'pay_rebinding' } });

beforeAll(() => diagnostics.subscribe('undici:client:beforeConnect', onConnect));
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  connects.length = 0;
});
afterAll(async () => {
  diagnostics.unsubscribe('undici:client:beforeConnect', onConnect);
  await agent.close();
});

describe('webhook delivery connects only to the address it checked', () => {
  it('a name that rebinds to 127.0.0.1 after registration gets nothing when private networks are off; the attempt records why', async () => {
    const listener = await listen('127.0.0.1');
    closers.push(listener.close);
    const resolve = resolverAnswering(PUBLIC_AT_REGISTRATION, LOOPBACK);
    const targets = { allowPrivateNetworks: false, resolve };
    const url = `https://${HOST}:${listener.port}/events`;

    // registration: the name resolves to a public address, so the endpoint is accepted
    expect(await checkWebhookTarget(url, targets)).toMatchObject({ ok: true, address: PUBLIC_AT_REGISTRATION });

    // delivery: the name now answers 127.0.0.1
    const send = createWebhookSender({ http: agent, targets, requestTimeoutMs: 2_000 });
    const answer = await send(url, { 'webhook-id': 'msg_rebinding' }, BODY, signal);

    expect(answer).toEqual({ error: `not sent: ${HOST} resolves to 127.0.0.1, a loopback address, allowed only when WEBHOOK_ALLOW_PRIVATE_NETWORKS=1` });
    expect(resolve.calls).toEqual([HOST, HOST]);
    expect(connects).toEqual([]);
    expect(listener.connections()).toBe(0);
    expect(listener.received).toEqual([]);
  });

  it('with private networks on, the POST goes to the checked 127.0.0.1 with the original Host header, and the name is looked up once', async () => {
    const listener = await listen('127.0.0.1');
    closers.push(listener.close);
    const resolve = resolverAnswering(LOOPBACK);
    const send = createWebhookSender({ http: agent, targets: { allowPrivateNetworks: true, resolve }, requestTimeoutMs: 2_000 });

    const answer = await send(`http://${HOST}:${listener.port}/events?attempt=1`, { 'webhook-id': 'msg_pinned' }, BODY, signal);

    expect(answer).toEqual({ statusCode: 204 });
    expect(resolve.calls).toEqual([HOST]);
    expect(connects).toEqual([{ hostname: '127.0.0.1', port: String(listener.port), servername: null }]);
    expect(listener.received).toEqual([{ method: 'POST', url: '/events?attempt=1', host: `${HOST}:${listener.port}`, body: BODY }]);
  });

  it('a checked IPv6 address is connected to as such, Host header unchanged', async (ctx) => {
    const listener = await listen('::1').catch(() => undefined);
    if (!listener) return ctx.skip();
    closers.push(listener.close);
    const resolve = resolverAnswering({ address: '::1', family: 6 });
    const send = createWebhookSender({ http: agent, targets: { allowPrivateNetworks: true, resolve }, requestTimeoutMs: 2_000 });

    expect(await send(`http://${HOST}:${listener.port}/v6`, {}, BODY, signal)).toEqual({ statusCode: 204 });
    expect(connects).toMatchObject([{ hostname: '::1', port: String(listener.port) }]);
    expect(listener.received).toMatchObject([{ url: '/v6', host: `${HOST}:${listener.port}` }]);
  });

  it('over https the TLS server name stays the endpoint hostname while the connection goes to the checked address', async () => {
    // no certificate: the handshake is refused once the server has read the name it was asked for
    const names: string[] = [];
    const server = tls.createServer({
      SNICallback: (name, done) => {
        names.push(name);
        done(new Error('no certificate in this test'));
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const send = createWebhookSender({ http: agent, targets: { allowPrivateNetworks: true, resolve: resolverAnswering(LOOPBACK) }, requestTimeoutMs: 2_000 });

    const answer = await send(`https://${HOST}:${port}/events`, {}, BODY, signal);

    expect(answer.statusCode).toBeUndefined();
    expect(answer.error).toBeTruthy();
    expect(names).toEqual([HOST]);
    expect(connects).toEqual([{ hostname: '127.0.0.1', port: String(port), servername: HOST }]);
  });
});
