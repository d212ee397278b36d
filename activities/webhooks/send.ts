// One webhook POST to a merchant's endpoint, made only to an address the
// target policy allows. The URL is checked again at every attempt, and the
// request goes to the IP address that check resolved (the hostname is not
// looked up a second time), so a name that rebinds to an internal address
// after the check reaches nothing. The Host header and the TLS server name
// stay the endpoint's own hostname, so certificates are verified against it.
import { request, type Dispatcher } from 'undici';
import { checkWebhookTarget, type WebhookTargetPolicy } from '../../outbound/webhook-target';

export interface WebhookSenderDeps {
  /** The connection pool; connections are made per checked IP address, never by hostname. */
  http: Dispatcher;
  targets: WebhookTargetPolicy;
  requestTimeoutMs: number;
}

/** A status code when the endpoint answered; an error text when it did not, or was not called. */
export interface SendAnswer {
  statusCode?: number;
  error?: string;
}

const USER_AGENT = 'checkout-temporal-webhooks/1';
const MAX_ERROR_CHARS = 300;

export function createWebhookSender({ http, targets, requestTimeoutMs }: WebhookSenderDeps) {
  return async function send(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<SendAnswer> {
    const target = await checkWebhookTarget(url, targets);
    if (!target.ok) return { error: `not sent: ${target.reason}`.slice(0, MAX_ERROR_CHARS) };
    const { url: checked, address } = target;
    const ip = address.family === 6 ? `[${address.address}]` : address.address;
    const port = checked.port || (checked.protocol === 'https:' ? '443' : '80');
    try {
      const res = await request(`${checked.protocol}//${ip}:${port}${checked.pathname}${checked.search}`, {
        method: 'POST',
        dispatcher: http,
        // the origin is the IP; undici takes the TLS server name (SNI, certificate check) from the Host header
        headers: { ...headers, host: checked.host, 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body,
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
        signal: AbortSignal.any([AbortSignal.timeout(requestTimeoutMs), signal]),
      });
      // the answer's body is not ours to keep, but must be read to free the connection
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      return { statusCode: res.statusCode };
    } catch (err) {
      const e = err as Error;
      const reason = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${requestTimeoutMs} ms` : e.message;
      return { error: reason.slice(0, MAX_ERROR_CHARS) };
    }
  };
}
