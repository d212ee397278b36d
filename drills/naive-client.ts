// The client of the retry-storm incident (DESIGN §5.8), for comparison only:
// on any non-2xx answer or network error it sends the request again at once,
// up to 3 more times; no backoff, no jitter, no Retry-After. It does keep the
// one Idempotency-Key (a new key per retry would double charge; the point of
// the drill is load, not correctness). A 202 is followed by polling its
// Location once a second, a fixed beat whatever Retry-After says.
import type { CheckoutRequest } from '../client/checkout-client';

export interface NaiveResult {
  /** The payment's final status, or `gave up: <last status>` after the retries. */
  outcome: string;
  /** POST /checkout requests sent. */
  posts: number;
  /** GET requests sent following a 202. */
  polls: number;
}

const RETRIES = 3;
const TERMINAL = new Set(['completed', 'failed', 'refunded']);

export function createNaiveClient(options: { baseUrl: string; requestTimeoutMs?: number; pollIntervalMs?: number; totalTimeoutMs?: number }) {
  const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const totalTimeoutMs = options.totalTimeoutMs ?? 120_000;

  async function send(url: string, init: RequestInit): Promise<{ status: number; headers: Headers; body: unknown } | string> {
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(requestTimeoutMs) });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      return { status: res.status, headers: res.headers, body };
    } catch (err) {
      return (err as Error).name === 'TimeoutError' ? 'timeout' : 'network error';
    }
  }

  async function checkout(request: CheckoutRequest, idempotencyKey: string): Promise<NaiveResult> {
    const started = Date.now();
    let posts = 0;
    let polls = 0;
    let last: Awaited<ReturnType<typeof send>> = 'none';
    for (let attempt = 0; attempt <= RETRIES; attempt += 1) {
      posts += 1;
      last = await send(`${options.baseUrl}/checkout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(request),
      });
      if (typeof last !== 'string' && last.status >= 200 && last.status < 300) break;
    }
    if (typeof last === 'string' || last.status >= 300) {
      return { outcome: `gave up: ${typeof last === 'string' ? last : last.status}`, posts, polls };
    }
    if (last.status !== 202) return { outcome: 'completed', posts, polls };
    const location = new URL(last.headers.get('location') ?? '', options.baseUrl).toString();
    while (Date.now() - started < totalTimeoutMs) {
      await new Promise((r) => setTimeout(r, pollIntervalMs));
      polls += 1;
      const answer = await send(location, { method: 'GET' });
      const status = typeof answer === 'string' ? undefined : (answer.body as { status?: unknown } | null)?.status;
      if (typeof status === 'string' && TERMINAL.has(status)) return { outcome: status, posts, polls };
    }
    return { outcome: 'gave up: still pending', posts, polls };
  }

  return { checkout };
}
