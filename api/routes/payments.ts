// GET /payments/{id}: a payment's status, read from its row. Only the
// caller's merchant's payments exist here: any other id is a 404.
import express, { type Request, type Response, type Router } from 'express';
import { findMerchantPayment } from '../../db/payments';
import type { Pool } from '../../db/pool';
import { HttpError } from '../../errors';
import { merchantOf } from '../auth/authenticate';
import { withinDependencyBudget } from '../deadline';

export function paymentRoutes(deps: { pool: Pool }): Router {
  const router = express.Router();
  router.get('/payments/:paymentId', async (req: Request<{ paymentId: string }>, res: Response) => {
    const row = await withinDependencyBudget(findMerchantPayment(deps.pool, merchantOf(res), req.params.paymentId), 'the payment lookup');
    if (!row) throw new HttpError(404, 'not_found', `no payment ${req.params.paymentId}`);
    res.json({
      payment_id: row.payment_id,
      status: row.status,
      amount_cents: row.amount_cents,
      currency: row.currency,
      customer_id: row.customer_id,
      provider_charge_id: row.provider_charge_id,
      failure_code: row.failure_code,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    });
  });
  return router;
}
