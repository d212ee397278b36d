// POST /checkout: validate, run the use case, say its result in HTTP. The
// outcome's status and body come from domain/checkout-answer.ts; this only
// marks replays and answers what is not an outcome.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { asReplay } from '../../domain/checkout-answer';
import { HttpError } from '../../errors';
import { callerOf, merchantOf } from '../auth/authenticate';
import type { CheckoutMetrics } from '../metrics';
import { shedOverLimit } from '../load-shedding';
import { MAX_BODY_BYTES, parseCheckoutRequest, parseIdempotencyKey } from './schema';
import { createCheckout, type CheckoutDeps, type CheckoutResult } from './use-case';

/** How long a client should wait before polling a checkout still in progress, or retrying after a 503. */
export const RETRY_AFTER_SECONDS = '1';

export interface CheckoutRouteDeps extends CheckoutDeps {
  apiBudgetMs: number;
  /** POST /checkout requests in flight on this instance; more are shed with 503 at once; omitted: unbounded */
  maxInFlightCheckouts?: number;
  metrics: CheckoutMetrics;
}

export function checkoutRoute(deps: CheckoutRouteDeps): Router {
  const router = express.Router();
  const checkout = createCheckout({
    ...deps,
    onStart: (start) => deps.metrics.checkoutStarts.inc({ start }),
    onOutcomeHeard: (source) => deps.metrics.checkoutOutcomeSources.inc({ source }),
  });
  router.post(
    '/checkout',
    // Content-Type was checked app-wide (require-json.ts)
    express.json({ limit: MAX_BODY_BYTES, strict: false, type: () => true }),
    // only once the body is in: a client still sending its body holds no slot (the
    // server cuts it after API_REQUEST_TIMEOUT_MS); still before Postgres or Temporal
    shedOverLimit(deps.maxInFlightCheckouts),
    async (req: Request, res: Response, next: NextFunction) => {
      // from the request's arrival (app.ts), not from here: the key lookup before this may have waited
      const deadline = ((res.locals.receivedAt as number | undefined) ?? Date.now()) + deps.apiBudgetMs;
      const caller = { merchantId: merchantOf(res), apiKeyId: callerOf(res).keyId };
      const key = parseIdempotencyKey(req.header('Idempotency-Key'));
      const request = parseCheckoutRequest(req.body);
      const result = await checkout(caller, key, request, deadline);
      if (result.kind !== 'answered' && result.kind !== 'pending') {
        next(errorOf(result));
        return;
      }
      if (result.kind === 'pending') {
        deps.metrics.checkoutOutcomes.inc({ outcome: 'pending' });
        res
          .set({ Location: `/payments/${result.paymentId}`, 'Retry-After': RETRY_AFTER_SECONDS })
          .status(202)
          .json({ payment_id: result.paymentId, status: 'pending' });
        return;
      }
      deps.metrics.checkoutOutcomes.inc({ outcome: result.outcome });
      if (result.replayed) res.set('Idempotent-Replayed', 'true');
      res.status(result.replayed ? asReplay(result.answer.status) : result.answer.status).json(result.answer.body);
    },
  );
  return router;
}

/** The results that are not a payment's answer, as the error the middleware sends. */
function errorOf(result: Exclude<CheckoutResult, { kind: 'answered' | 'pending' }>): HttpError {
  switch (result.kind) {
    case 'rate_limited': {
      const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      const who = result.limit === 'key' ? 'this API key' : `customer ${result.customerId}`;
      return new HttpError(
        429,
        'rate_limited',
        `${who} has reached ${result.limitPerMinute} new checkouts per minute; retry after ${retryAfter} s`,
        result.limit === 'key' ? undefined : 'customer_id',
        { 'Retry-After': String(retryAfter) },
      );
    }
    case 'key_reused':
      return new HttpError(
        422,
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request body; use a new key for a new checkout',
        'Idempotency-Key',
      );
    case 'start_unavailable':
      return new HttpError(503, 'temporarily_unavailable', 'could not start the checkout; retry with the same Idempotency-Key', undefined, {
        'Retry-After': RETRY_AFTER_SECONDS,
      });
    case 'workflow_failed':
      return new HttpError(500, 'checkout_failed', 'the checkout failed unexpectedly; it is safe to retry with the same Idempotency-Key');
  }
}
