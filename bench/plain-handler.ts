// The handler a payments engineer would write without Temporal, for the
// benchmark's side-by-side: the same API key check (accounts/authenticate.ts)
// and the same validation (api/checkout/schema.ts), the
// same provider call with the same timeouts (activities/checkout/payments-provider.ts),
// the same ledger posting in one transaction (db/ledger.ts). Idempotent by the
// same payments row, so a replay is the same one indexed read. What it lacks is
// the point of the comparison: no durable steps (a crash between the charge and
// the ledger leaves it to a person), no retries, no rate limit or load shedding.
import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { authenticate } from '../accounts/authenticate';
import type { PaymentsProvider } from '../activities/checkout/payments-provider';
import { fingerprintOf, MAX_BODY_BYTES, parseCheckoutRequest, parseIdempotencyKey } from '../api/checkout/schema';
import { HttpError } from '../errors';
import { postCompletedCharge } from '../db/ledger';
import { insertPendingPayment } from '../db/payments';
import type { Pool } from '../db/pool';
import { checkoutWorkflowId } from '../domain/ids';
import { asReplay, renderCheckoutAnswer } from '../domain/checkout-answer';

export interface PlainHandlerDeps {
  pool: Pool;
  /** the api's pepper: the plain handler accepts the same keys */
  apiKeyPepper: string;
  provider: PaymentsProvider;
  /** the charge activity's whole-request timeout: its start-to-close less the same 100 ms margin */
  providerTimeoutMs: number;
  fraudMaxAmountCents: number;
}

export function createPlainApp(deps: PlainHandlerDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.post('/checkout', express.json({ limit: MAX_BODY_BYTES, strict: false, type: () => true }), async (req: Request, res: Response) => {
    const auth = await authenticate(deps.pool, req.header('authorization'), deps.apiKeyPepper);
    if (!auth.ok) throw new HttpError(401, `api_key_${auth.reason}`, 'the API key was refused');
    const merchantId = auth.caller.merchantId;
    if (merchantId === null) throw new HttpError(403, 'merchant_key_required', "use a merchant's key");
    const key = parseIdempotencyKey(req.header('Idempotency-Key'));
    const request = parseCheckoutRequest(req.body);
    const fingerprint = fingerprintOf(request);
    // the same key (workflow ID column included) as the durable path, so the rows are alike
    const workflowId = checkoutWorkflowId(merchantId, key);
    const { row, created } = await insertPendingPayment(deps.pool, {
      merchantId,
      apiKeyId: auth.caller.keyId,
      paymentId: `pay_${crypto.randomUUID().replace(/-/g, '')}`,
      idempotencyKey: key,
      workflowId,
      fingerprint,
      request,
    });
    if (row.fingerprint !== fingerprint) throw new HttpError(422, 'idempotency_key_reused', 'key used with another body', 'Idempotency-Key');
    if (!created) {
      if (row.response_status === null) throw new HttpError(409, 'in_progress', 'this checkout is still in progress');
      res.set('Idempotent-Replayed', 'true').status(asReplay(row.response_status)).json(row.response);
      return;
    }
    if (request.amount_cents > deps.fraudMaxAmountCents) throw new HttpError(402, 'fraud_rejected', 'refused by fraud rules');
    const charged = await deps.provider.charge({ idempotencyKey: `${workflowId}:charge`, ...request }, deps.providerTimeoutMs);
    if (charged.kind === 'declined') throw new HttpError(402, charged.code, 'the payment was declined');
    const payment = {
      payment_id: row.payment_id,
      amount_cents: request.amount_cents,
      currency: request.currency,
      provider_charge_id: charged.charge.id,
      created_at: row.created_at.toISOString(),
    };
    const answer = renderCheckoutAnswer({ outcome: 'completed', payment });
    await postCompletedCharge(deps.pool, { workflowId, payment, answer });
    res.status(answer.status).json(answer.body);
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const answer = err instanceof HttpError ? err : new HttpError(502, 'checkout_failed', (err as Error).message);
    res.status(answer.status).json({ error: { code: answer.code, message: answer.message } });
  });
  return app;
}
