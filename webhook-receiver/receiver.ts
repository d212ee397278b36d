// The receiver a merchant would write: verify the Standard Webhooks signature
// over the raw body (never over re-serialised JSON), refuse stale timestamps
// (the library allows 5 minutes either way, which stops replays), answer 2xx
// fast, and dedupe on webhook-id because delivery is at-least-once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export interface ReceivedWebhook {
  webhookId: string;
  type: string;
  paymentId: string | undefined;
  /** false for the second and later copies of one webhook-id */
  firstTime: boolean;
  receivedAt: Date;
}

export interface WebhookReceiverOptions {
  /** The endpoint's signing secret (whsec_...), as shown once at creation. */
  secret: string;
  /** Answer every request with this status instead (an endpoint that is failing). */
  failStatus?: number;
  /** Called for each verified webhook (the merchant's business logic would go here). */
  onWebhook?: (webhook: ReceivedWebhook) => void;
  /** Called for each request refused as not signed by us (bad signature, stale timestamp). */
  onRejected?: (reason: string) => void;
}

export interface WebhookReceiver {
  /** Every verified webhook, copies included, in arrival order. */
  received: ReceivedWebhook[];
  /** Requests refused for a bad or missing signature or a stale timestamp. */
  rejected: Array<{ reason: string; at: Date }>;
  /** Requests answered with failStatus. */
  failedOnPurpose: number;
  /** Answers the next `count` requests (all, when omitted) with this status; undefined stops failing. */
  failWith(status: number | undefined, count?: number): void;
  /** Starts listening (port 0: any free port); may be called again after close(). */
  listen(port: number, host?: string): Promise<string>;
  /** Stops listening and drops open connections: the endpoint is down. */
  close(): Promise<void>;
  url: string;
}

const MAX_BODY_BYTES = 1024 * 1024;

export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const verifier = new Webhook(options.secret);
  const seen = new Set<string>();
  let failStatus = options.failStatus;
  let failuresLeft = Number.POSITIVE_INFINITY;
  let server: http.Server | undefined;

  const receiver: WebhookReceiver = {
    received: [],
    rejected: [],
    failedOnPurpose: 0,
    url: '',
    failWith(status, count) {
      failStatus = status;
      failuresLeft = count ?? Number.POSITIVE_INFINITY;
    },
    async listen(port, host = '127.0.0.1') {
      server = http.createServer((req, res) => void handle(req, res));
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => resolve());
      });
      const address = s.address() as AddressInfo;
      receiver.url = `http://${host}:${address.port}/webhooks`;
      return receiver.url;
    },
    async close() {
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };

  function answer(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url === '/received') {
      answer(res, 200, { received: receiver.received, rejected: receiver.rejected.length, failed_on_purpose: receiver.failedOnPurpose });
      return;
    }
    if (req.method !== 'POST') {
      answer(res, 405, { error: 'POST only' });
      return;
    }
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      answer(res, 413, { error: 'body too large' });
      return;
    }
    if (failStatus !== undefined && failuresLeft > 0) {
      failuresLeft -= 1;
      receiver.failedOnPurpose += 1;
      answer(res, failStatus, { error: 'failing on purpose' });
      return;
    }
    let event: { type?: string; data?: { payment_id?: string } };
    try {
      // verify() checks webhook-timestamp is within 5 minutes and that one of
      // the signatures (there are two during a secret rotation) matches
      event = verifier.verify(body, headersOf(req)) as typeof event;
    } catch (err) {
      const reason = err instanceof WebhookVerificationError ? err.message : 'unreadable payload';
      receiver.rejected.push({ reason, at: new Date() });
      options.onRejected?.(reason);
      answer(res, 400, { error: reason });
      return;
    }
    const webhookId = String(req.headers['webhook-id']);
    const firstTime = !seen.has(webhookId);
    seen.add(webhookId);
    const webhook: ReceivedWebhook = { webhookId, type: String(event.type), paymentId: event.data?.payment_id, firstTime, receivedAt: new Date() };
    receiver.received.push(webhook);
    if (firstTime) options.onWebhook?.(webhook);
    // a copy is acknowledged like the first: the sender must stop retrying it
    res.writeHead(204).end();
  }

  return receiver;
}

function headersOf(req: http.IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
