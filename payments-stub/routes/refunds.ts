// POST /refunds, and GET /refunds for reconciliation.
import type { Express } from 'express';
import { z } from 'zod';
import { withFaults } from '../fault-injection';
import { errorBody, readJsonBody, sendListing } from '../http-json';
import { runIdempotent, type IdempotentOperation } from '../idempotent-operation';
import type { StubState } from '../state';

const refundBody = z.object({
  charge_id: z.string().min(1),
});

export function refundRoutes(app: Express, state: StubState): void {
  const { ledger, logger } = state;

  const createRefund: IdempotentOperation<z.infer<typeof refundBody>> = {
    body: refundBody,
    fingerprint: (input) => JSON.stringify(['refund', input.charge_id]),
    apply(key, { charge_id: chargeId }) {
      const charge = ledger.findCharge(chargeId);
      if (!charge) {
        return { status: 404, body: errorBody('resource_missing', `No such charge: ${chargeId}`, 'charge_id') };
      }
      if (charge.refunded) {
        return { status: 400, body: errorBody('charge_already_refunded', `Charge ${chargeId} is already refunded.`) };
      }
      const refund = ledger.refund(charge, key);
      logger.info({ idempotencyKey: key, chargeId, refundId: refund.id }, 'refund applied');
      return {
        status: 200,
        body: {
          id: refund.id,
          charge_id: refund.charge_id,
          status: 'succeeded',
          amount_cents: refund.amount_cents,
          currency: refund.currency,
          created: refund.created,
        },
      };
    },
  };

  app.post('/refunds', readJsonBody, withFaults(state, 'refunds', (req) => runIdempotent(state, req, createRefund)));

  // Every refund applied (optionally ?since=, unix seconds).
  app.get('/refunds', (req, res) => {
    sendListing(req, res, (since) => ledger.listRefunds(since));
  });
}
