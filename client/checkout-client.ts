// A client that behaves (DESIGN §4): one Idempotency-Key per logical checkout,
// sent unchanged on every attempt; full-jitter backoff that never undercuts the
// server's Retry-After; follows 202 + Location until the payment is final; and
// bounded by a number of attempts and a total time.
//
// The key and the request bytes are fixed once, before the first attempt, and
// every attempt sends that same frozen request: there is no code path on which
// a retry could carry another key or another body.
import crypto from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';

export interface CheckoutRequest {
  customer_id: string;
  /** Integer cents. */
  amount_cents: number;
  /** ISO 4217, three upper-case letters. */
  currency: string;
  payment_method_id: string;
}

/**
 * completed: paid. declined: the card or our fraud rules refused (402).
 * failed: the service gave up on the provider, no charge confirmed (502).
 * refunded: charged, then refunded in full because it could not be recorded (500).
 * invalid_request: the api refused the request itself (400, 413, 415, other 4xx).
 * key_reused: the Idempotency-Key was used before with another body (422); nothing ran.
 */
export type CheckoutStatus = 'completed' | 'declined' | 'failed' | 'refunded' | 'invalid_request' | 'key_reused';

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
}

export interface CheckoutResult {
  status: CheckoutStatus;
  /** HTTP status of the answer that ended the checkout (the last GET when a 202 was followed). */
  httpStatus: number;
  /** The api answered from its idempotency record (Idempotent-Replayed: true). */
  replayed: boolean;
  /** The final JSON body (the payment document when a 202 was followed). */
  body: unknown;
  /** POST /checkout attempts made, all with the same Idempotency-Key. */
  attempts: number;
  /** GET requests made to follow a 202's Location. */
  polls: number;
  idempotencyKey: string;
  paymentId?: string;
  /** The api's error (invalid_request, key_reused) or the payment's error (declined, failed, refunded). */
  error?: ApiErrorBody;
}

export interface AttemptEvent {
  /** 'checkout': a POST /checkout attempt; 'poll': a GET of the 202's Location. */
  kind: 'checkout' | 'poll';
  /** 1-based number of this request within its kind. */
  attempt: number;
  method: 'POST' | 'GET';
  url: string;
  idempotencyKey: string;
  /** Set when a response arrived. */
  httpStatus?: number;
  /** Set when no response arrived: a network error or the request timeout. */
  error?: string;
  /** The payment's status from a poll. */
  paymentStatus?: string;
  /** The server's Retry-After, in ms, when it sent one. */
  retryAfterMs?: number;
  /**
   * done: final answer. retry: the POST is sent again after nextDelayMs.
   * follow: 202, the Location is polled after nextDelayMs. pending: polled, not final yet.
   * give_up: attempts or time are spent; checkout() rejects with a CheckoutError.
   */
  outcome: 'done' | 'retry' | 'follow' | 'pending' | 'give_up';
  nextDelayMs?: number;
  elapsedMs: number;
}

export interface CheckoutClientOptions {
  /** e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  /** POST attempts per logical checkout (and failed polls in a row), default 8. */
  maxAttempts?: number;
  /** Bound on one checkout() call from first request to answer, default 30 000 ms. */
  totalTimeoutMs?: number;
  /** Bound on each HTTP request, default 5 000 ms. */
  requestTimeoutMs?: number;
  /** Full-jitter base, default 200 ms. */
  baseDelayMs?: number;
  /** Full-jitter cap, default 10 000 ms. */
  maxDelayMs?: number;
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number;
  /** Waits ms; default a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock in ms for the total time bound; default Date.now. */
  now?: () => number;
  /** Called after every request (for logs and metrics); its errors are ignored. */
  onAttempt?: (event: AttemptEvent) => void;
}

export interface CheckoutCallOptions {
  /**
   * Resume a logical checkout begun earlier (for example after a CheckoutError)
   * by passing its key. Omitted: a fresh UUID, made once for this call.
   */
  idempotencyKey?: string;
}

export interface CheckoutClient {
  checkout(request: CheckoutRequest, opts?: CheckoutCallOptions): Promise<CheckoutResult>;
}

export type GiveUpReason = 'max_attempts' | 'total_timeout' | 'unexpected_response';

/** checkout() gave up without a final answer. The checkout may still complete: resume with the same key. */
export class CheckoutError extends Error {
  override readonly name = 'CheckoutError';
  readonly reason: GiveUpReason;
  readonly attempts: number;
  readonly polls: number;
  /** The last HTTP status, or what happened instead (e.g. 'ECONNRESET', 'timeout'). */
  readonly lastStatus: number | string;
  readonly idempotencyKey: string;
  readonly elapsedMs: number;

  constructor(fields: {
    reason: GiveUpReason;
    attempts: number;
    polls: number;
    lastStatus: number | string;
    idempotencyKey: string;
    elapsedMs: number;
    detail: string;
  }) {
    super(
      `checkout gave up (${fields.detail}) after ${fields.attempts} attempt${fields.attempts === 1 ? '' : 's'}` +
        `${fields.polls > 0 ? ` and ${fields.polls} poll${fields.polls === 1 ? '' : 's'}` : ''}` +
        ` in ${fields.elapsedMs} ms; last status: ${fields.lastStatus}; Idempotency-Key ${fields.idempotencyKey}` +
        ' (retry later with this same key to resume the same checkout, never a new one)',
    );
    this.reason = fields.reason;
    this.attempts = fields.attempts;
    this.polls = fields.polls;
    this.lastStatus = fields.lastStatus;
    this.idempotencyKey = fields.idempotencyKey;
    this.elapsedMs = fields.elapsedMs;
  }
}

export const CLIENT_DEFAULTS = {
  maxAttempts: 8,
  totalTimeoutMs: 30_000,
  requestTimeoutMs: 5_000,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
} as const;

/** The api's contract: 1–255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

const TERMINAL_PAYMENT_STATUSES = new Set(['completed', 'failed', 'refunded']);
/** failure_code values of a failed payment that mean a decline rather than a provider failure. */
const DECLINE_CODES = new Set(['card_declined', 'insufficient_funds', 'fraud_rejected']);
/** 4xx answers that say "later", not "never". */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

/**
 * Full jitter (DESIGN §4): uniform in [0, min(maxDelayMs, baseDelayMs · 2^retry)],
 * retry counted from 0 for the first retry.
 */
export function fullJitterDelay(retry: number, opts: { baseDelayMs: number; maxDelayMs: number; random: () => number }): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, retry));
  const r = Math.min(Math.max(opts.random(), 0), 1);
  return Math.floor(r * ceiling);
}

/** Retry-After as ms from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined; // a bare negative or fractional number is not a date
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

type Exchange =
  | { ok: true; status: number; headers: Headers; body: unknown }
  | { ok: false; error: string };

interface FrozenRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}

export function createCheckoutClient(options: CheckoutClientOptions): CheckoutClient {
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`baseUrl must be http(s), got ${options.baseUrl}`);
  const maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? CLIENT_DEFAULTS.maxAttempts);
  const totalTimeoutMs = positiveInteger('totalTimeoutMs', options.totalTimeoutMs ?? CLIENT_DEFAULTS.totalTimeoutMs);
  const requestTimeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs);
  const jitter = {
    baseDelayMs: nonNegative('baseDelayMs', options.baseDelayMs ?? CLIENT_DEFAULTS.baseDelayMs),
    maxDelayMs: nonNegative('maxDelayMs', options.maxDelayMs ?? CLIENT_DEFAULTS.maxDelayMs),
    random: options.random ?? Math.random,
  };
  const sleep = options.sleep ?? ((ms: number) => sleepFor(ms).then(() => undefined));
  const now = options.now ?? Date.now;
  const report = (event: AttemptEvent) => {
    try {
      options.onAttempt?.(event);
    } catch {
      // a logging or metrics callback must not change the course of a payment
    }
  };

  async function exchange(method: 'POST' | 'GET', url: string, timeoutMs: number, frozen?: FrozenRequest): Promise<Exchange> {
    try {
      const res = await fetch(url, {
        method,
        headers: frozen ? frozen.headers : { accept: 'application/json' },
        body: frozen?.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON (a proxy's error page): kept as text
      }
      return { ok: true, status: res.status, headers: res.headers, body };
    } catch (err) {
      return { ok: false, error: describeFailure(err, timeoutMs) };
    }
  }

  async function checkout(request: CheckoutRequest, opts: CheckoutCallOptions = {}): Promise<CheckoutResult> {
    // The one key of this logical checkout: chosen here, once, before any attempt.
    const idempotencyKey = opts.idempotencyKey ?? crypto.randomUUID();
    if (!IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw new TypeError('idempotencyKey must be 1–255 visible ASCII characters (no spaces)');
    }
    // Every attempt sends exactly these bytes with exactly this key.
    const frozen: FrozenRequest = Object.freeze({
      url: new URL('checkout', base.href.endsWith('/') ? base.href : `${base.href}/`).toString(),
      headers: Object.freeze({
        'content-type': 'application/json',
        accept: 'application/json',
        'idempotency-key': idempotencyKey,
      }),
      body: JSON.stringify({
        customer_id: request.customer_id,
        amount_cents: request.amount_cents,
        currency: request.currency,
        payment_method_id: request.payment_method_id,
      }),
    });

    const started = now();
    const deadline = started + totalTimeoutMs;
    const elapsed = () => Math.max(0, now() - started);
    let attempts = 0;
    let polls = 0;
    let pollFailuresInARow = 0;
    let lastStatus: number | string = 'none';
    /** Set once a 202 named where to look; from then on only GETs are sent. */
    let location: string | undefined;
    /** The 202's Retry-After, the floor of every poll interval unless a poll answer says otherwise. */
    let pollRetryAfterMs: number | undefined;

    const giveUp = (reason: GiveUpReason, detail: string): CheckoutError =>
      new CheckoutError({ reason, attempts, polls, lastStatus, idempotencyKey, elapsedMs: elapsed(), detail });

    const finish = (status: CheckoutStatus, ex: { status: number; headers: Headers; body: unknown }): CheckoutResult => {
      const body = ex.body;
      const record = isRecord(body) ? body : {};
      const paymentId = typeof record.payment_id === 'string' ? record.payment_id : undefined;
      const error = errorOf(record);
      return {
        status,
        httpStatus: ex.status,
        replayed: ex.headers.get('idempotent-replayed') === 'true',
        body,
        attempts,
        polls,
        idempotencyKey,
        ...(paymentId ? { paymentId } : {}),
        ...(error ? { error } : {}),
      };
    };

    /** The wait before the next request, or a CheckoutError when it would pass the deadline. */
    const nextDelay = (retry: number, retryAfterMs: number | undefined): number | CheckoutError => {
      const wait = Math.max(fullJitterDelay(retry, jitter), retryAfterMs ?? 0);
      const left = deadline - now();
      if (wait >= left) {
        return giveUp(
          'total_timeout',
          `the next try in ${wait} ms would pass the total timeout of ${totalTimeoutMs} ms` +
            (retryAfterMs !== undefined ? ` (server asked for Retry-After ${retryAfterMs} ms)` : ''),
        );
      }
      return wait;
    };

    for (;;) {
      const left = deadline - now();
      if (left <= 0) throw giveUp('total_timeout', `total timeout of ${totalTimeoutMs} ms reached`);
      const timeoutMs = Math.max(1, Math.min(requestTimeoutMs, left));

      if (location === undefined) {
        // ---- POST /checkout, always the frozen request ----
        attempts += 1;
        const ex = await exchange('POST', frozen.url, timeoutMs, frozen);
        const event = { kind: 'checkout', attempt: attempts, method: 'POST', url: frozen.url, idempotencyKey } as const;
        lastStatus = ex.ok ? ex.status : ex.error;
        const retryAfterMs = ex.ok ? parseRetryAfter(ex.headers.get('retry-after'), now()) : undefined;
        const verdict = ex.ok ? classifyCheckoutAnswer(ex.status, ex.body, ex.headers) : ({ kind: 'retry' } as const);

        const seen = { ...event, ...(ex.ok ? { httpStatus: ex.status } : { error: ex.error }), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
        if (verdict.kind === 'final' && ex.ok) {
          report({ ...seen, outcome: 'done', elapsedMs: elapsed() });
          return finish(verdict.status, ex);
        }
        if (verdict.kind === 'follow') {
          location = new URL(verdict.location, frozen.url).toString();
          pollRetryAfterMs = retryAfterMs;
          const wait = nextDelay(0, retryAfterMs);
          if (wait instanceof CheckoutError) {
            report({ ...seen, outcome: 'give_up', elapsedMs: elapsed() });
            throw wait;
          }
          report({ ...seen, outcome: 'follow', nextDelayMs: wait, elapsedMs: elapsed() });
          await sleep(wait);
          continue;
        }
        if (verdict.kind === 'unexpected') {
          report({ ...seen, outcome: 'give_up', elapsedMs: elapsed() });
          throw giveUp('unexpected_response', verdict.detail);
        }
        // retry
        if (attempts >= maxAttempts) {
          report({ ...seen, outcome: 'give_up', elapsedMs: elapsed() });
          throw giveUp('max_attempts', `maxAttempts ${maxAttempts} reached`);
        }
        const wait = nextDelay(attempts - 1, retryAfterMs);
        if (wait instanceof CheckoutError) {
          report({ ...seen, outcome: 'give_up', elapsedMs: elapsed() });
          throw wait;
        }
        report({ ...seen, outcome: 'retry', nextDelayMs: wait, elapsedMs: elapsed() });
        await sleep(wait);
        continue;
      }

      // ---- GET the 202's Location until the payment is final ----
      polls += 1;
      const pollUrl = location;
      const ex = await exchange('GET', pollUrl, timeoutMs);
      lastStatus = ex.ok ? ex.status : ex.error;
      const retryAfterMs = ex.ok ? (parseRetryAfter(ex.headers.get('retry-after'), now()) ?? pollRetryAfterMs) : pollRetryAfterMs;
      const event = {
        kind: 'poll',
        attempt: polls,
        method: 'GET',
        url: pollUrl,
        idempotencyKey,
        ...(ex.ok ? { httpStatus: ex.status } : { error: ex.error }),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      } as const;

      if (ex.ok && ex.status === 200 && isRecord(ex.body) && typeof ex.body.status === 'string') {
        const paymentStatus = ex.body.status;
        lastStatus = `${ex.status} ${paymentStatus}`;
        pollFailuresInARow = 0;
        if (TERMINAL_PAYMENT_STATUSES.has(paymentStatus)) {
          report({ ...event, paymentStatus, outcome: 'done', elapsedMs: elapsed() });
          return finish(statusOfPayment(paymentStatus, ex.body), ex);
        }
        const wait = nextDelay(polls - 1, retryAfterMs);
        if (wait instanceof CheckoutError) {
          report({ ...event, paymentStatus, outcome: 'give_up', elapsedMs: elapsed() });
          throw wait;
        }
        report({ ...event, paymentStatus, outcome: 'pending', nextDelayMs: wait, elapsedMs: elapsed() });
        await sleep(wait);
        continue;
      }

      if (ex.ok && !(ex.status >= 500 || RETRYABLE_4XX.has(ex.status))) {
        // 404 or another answer that polling again cannot fix
        report({ ...event, outcome: 'give_up', elapsedMs: elapsed() });
        throw giveUp('unexpected_response', `GET ${pollUrl} answered ${ex.status}`);
      }
      pollFailuresInARow += 1;
      if (pollFailuresInARow >= maxAttempts) {
        report({ ...event, outcome: 'give_up', elapsedMs: elapsed() });
        throw giveUp('max_attempts', `${pollFailuresInARow} failed polls in a row`);
      }
      const wait = nextDelay(polls - 1, retryAfterMs);
      if (wait instanceof CheckoutError) {
        report({ ...event, outcome: 'give_up', elapsedMs: elapsed() });
        throw wait;
      }
      report({ ...event, outcome: 'pending', nextDelayMs: wait, elapsedMs: elapsed() });
      await sleep(wait);
    }
  }

  return { checkout };
}

type Verdict =
  | { kind: 'final'; status: CheckoutStatus }
  | { kind: 'follow'; location: string }
  | { kind: 'retry' }
  | { kind: 'unexpected'; detail: string };

/** What one answer to POST /checkout means (README "The API"). */
export function classifyCheckoutAnswer(status: number, body: unknown, headers: Headers): Verdict {
  const paymentStatus = isRecord(body) && typeof body.status === 'string' ? body.status : undefined;
  if (status === 200 || status === 201) return { kind: 'final', status: 'completed' };
  if (status === 202) {
    const location = headers.get('location');
    // Without a Location the same key is simply sent again: it attaches to the same execution.
    return location ? { kind: 'follow', location } : { kind: 'retry' };
  }
  if (status === 402) return { kind: 'final', status: 'declined' };
  if (status === 422) return { kind: 'final', status: 'key_reused' };
  // 500/502 carrying a payment's final state are outcomes, not transient errors.
  if ((status === 500 || status === 502) && (paymentStatus === 'failed' || paymentStatus === 'refunded')) {
    return { kind: 'final', status: paymentStatus };
  }
  if (status >= 500 || RETRYABLE_4XX.has(status)) return { kind: 'retry' };
  if (status >= 400) return { kind: 'final', status: 'invalid_request' };
  return { kind: 'unexpected', detail: `POST /checkout answered ${status}` };
}

function statusOfPayment(paymentStatus: string, payment: Record<string, unknown>): CheckoutStatus {
  if (paymentStatus === 'completed') return 'completed';
  if (paymentStatus === 'refunded') return 'refunded';
  return typeof payment.failure_code === 'string' && DECLINE_CODES.has(payment.failure_code) ? 'declined' : 'failed';
}

function errorOf(record: Record<string, unknown>): ApiErrorBody | undefined {
  const error = record.error;
  if (isRecord(error) && typeof error.code === 'string') {
    return {
      code: error.code,
      message: typeof error.message === 'string' ? error.message : '',
      ...(typeof error.field === 'string' ? { field: error.field } : {}),
    };
  }
  // a polled payment carries failure_code rather than an error object
  if (typeof record.failure_code === 'string') return { code: record.failure_code, message: `payment ${String(record.status)}` };
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** 'timeout after N ms', an errno code such as ECONNRESET, or the causes' messages. */
function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `timeout after ${timeoutMs} ms`;
  const messages: string[] = [];
  let cause: unknown = err;
  for (let depth = 0; depth < 5 && cause instanceof Error; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return /^E[A-Z]+$/.test(code) ? code : `${code} (${cause.message})`;
    messages.push(cause.message);
    cause = cause.cause;
  }
  return messages.length > 0 ? messages.join(': ') : String(err);
}
