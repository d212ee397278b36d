// The client library's public shapes: what a checkout sends, what it ends
// with, and what each request reports along the way.

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
  /**
   * The merchant's API key (sk_test_... or sk_live_...), sent as
   * `Authorization: Bearer <key>` on every request to baseUrl's origin and
   * nowhere else. Keep it out of logs: the client never reports it.
   */
  apiKey: string;
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
