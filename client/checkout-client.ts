// A client that behaves (docs/design.md, "Bundled client"): one Idempotency-Key per logical checkout,
// sent unchanged on every attempt; full-jitter backoff that never undercuts the
// server's Retry-After; follows 202 + Location until the payment is final; and
// bounded by a number of attempts and a total time. Every request carries the
// merchant's API key (Authorization: Bearer), to the api's origin only.
//
// The key and the request bytes are fixed once, before the first attempt, and
// every attempt sends that same frozen request: there is no code path on which
// a retry could carry another key or another body.
import crypto from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { startRun, type ClientDeps } from './checkout-run';
import type { FrozenRequest } from './exchange';
import { followLocation } from './follow-location';
import { postUntilAnswered } from './post-checkout';
import type { CheckoutCallOptions, CheckoutClient, CheckoutClientOptions, CheckoutRequest, CheckoutResult } from './types';

export type {
  ApiErrorBody,
  AttemptEvent,
  CheckoutCallOptions,
  CheckoutClient,
  CheckoutClientOptions,
  CheckoutRequest,
  CheckoutResult,
  CheckoutStatus,
} from './types';
export { CheckoutError, type GiveUpReason } from './checkout-error';
export { classifyCheckoutAnswer } from './answer';
export { fullJitterDelay, parseRetryAfter } from './retry-wait';

export const CLIENT_DEFAULTS = {
  maxAttempts: 8,
  totalTimeoutMs: 30_000,
  requestTimeoutMs: 5_000,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
} as const;

/** The api's contract: 1–255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** Visible ASCII only: a space or line break in a header value would be refused, or worse, split the header. */
const API_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export function createCheckoutClient(options: CheckoutClientOptions): CheckoutClient {
  const deps = clientDeps(options);
  return { checkout: (request, opts) => checkout(deps, request, opts) };
}

/** The options checked (a TypeError names the first bad one) and defaulted. */
function clientDeps(options: CheckoutClientOptions): ClientDeps {
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`baseUrl must be http(s), got ${options.baseUrl}`);
  // the key itself is never part of a message
  if (typeof options.apiKey !== 'string' || !API_KEY_PATTERN.test(options.apiKey)) {
    throw new TypeError('apiKey is required: the API key (sk_test_... or sk_live_...), visible ASCII without spaces');
  }
  const maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? CLIENT_DEFAULTS.maxAttempts);
  const totalTimeoutMs = positiveInteger('totalTimeoutMs', options.totalTimeoutMs ?? CLIENT_DEFAULTS.totalTimeoutMs);
  const requestTimeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs);
  const jitter = {
    baseDelayMs: nonNegative('baseDelayMs', options.baseDelayMs ?? CLIENT_DEFAULTS.baseDelayMs),
    maxDelayMs: nonNegative('maxDelayMs', options.maxDelayMs ?? CLIENT_DEFAULTS.maxDelayMs),
    random: options.random ?? Math.random,
  };
  return {
    checkoutUrl: new URL('checkout', base.href.endsWith('/') ? base.href : `${base.href}/`).toString(),
    authorization: `Bearer ${options.apiKey}`,
    maxAttempts,
    totalTimeoutMs,
    requestTimeoutMs,
    jitter,
    sleep: options.sleep ?? ((ms: number) => sleepFor(ms).then(() => undefined)),
    now: options.now ?? Date.now,
    report: (event) => {
      try {
        options.onAttempt?.(event);
      } catch {
        // a logging or metrics callback must not change the course of a payment
      }
    },
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}

async function checkout(deps: ClientDeps, request: CheckoutRequest, opts: CheckoutCallOptions = {}): Promise<CheckoutResult> {
  // The one key of this logical checkout: chosen here, once, before any attempt.
  const idempotencyKey = opts.idempotencyKey ?? crypto.randomUUID();
  if (!IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
    throw new TypeError('idempotencyKey must be 1–255 visible ASCII characters (no spaces)');
  }
  const frozen = freezeCheckoutRequest(deps, idempotencyKey, request);
  const run = startRun(deps, idempotencyKey);
  const posted = await postUntilAnswered(deps, run, frozen);
  return posted.kind === 'done' ? posted.result : followLocation(deps, run, posted.location, posted.retryAfterMs);
}

/** Every attempt sends exactly these bytes with exactly this key. */
function freezeCheckoutRequest(deps: ClientDeps, idempotencyKey: string, request: CheckoutRequest): FrozenRequest {
  return Object.freeze({
    url: deps.checkoutUrl,
    headers: Object.freeze({
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: deps.authorization,
      'idempotency-key': idempotencyKey,
    }),
    body: JSON.stringify({
      customer_id: request.customer_id,
      amount_cents: request.amount_cents,
      currency: request.currency,
      payment_method_id: request.payment_method_id,
    }),
  });
}
