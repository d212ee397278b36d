// POST /charges, and the listings a reconciler reads back: GET /charges and GET /charges/:id.
import type { Express, Request } from 'express';
import { z } from 'zod';
import { withFaults } from '../fault-injection';
import { errorBody, readJsonBody, send, sendListing } from '../http-json';
import { runIdempotent, type IdempotentOperation } from '../idempotent-operation';
import type { Charge } from '../ledger';
import type { StubState } from '../state';

// Test cards, as at real providers: these payment methods always decline.
const DECLINES: Record<string, { code: string; message: string }> = {
  pm_declined: { code: 'card_declined', message: 'Your card was declined.' },
  pm_insufficient_funds: { code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
};

const chargeBody = z.object({
  amount_cents: z.number().int().positive(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be three upper-case letters, e.g. USD'),
  payment_method_id: z.string().min(1),
});

export function chargeRoutes(app: Express, state: StubState): void {
  const { counts, ledger, logger } = state;

  const createCharge: IdempotentOperation<z.infer<typeof chargeBody>> = {
    body: chargeBody,
    fingerprint: (input) => JSON.stringify(['charge', input.amount_cents, input.currency, input.payment_method_id]),
    apply(key, input) {
      const decline = DECLINES[input.payment_method_id];
      if (decline) {
        counts.declines++;
        logger.info({ idempotencyKey: key, code: decline.code }, 'charge declined');
        return { status: 402, body: errorBody(decline.code, decline.message) };
      }
      const charge = ledger.addCharge({ idempotency_key: key, ...input });
      logger.info({ idempotencyKey: key, chargeId: charge.id, amountCents: charge.amount_cents }, 'charge applied');
      return {
        status: 200,
        body: {
          id: charge.id,
          status: 'succeeded',
          amount_cents: charge.amount_cents,
          currency: charge.currency,
          created: charge.created,
        },
      };
    },
  };

  app.post(
    '/charges',
    // Counted before the body is read, so a request that fails at any later step is still an attempt.
    (_req, _res, next) => {
      counts.attempts++;
      next();
    },
    readJsonBody,
    withFaults(state, 'charges', (req) => runIdempotent(state, req, createCharge)),
  );

  app.get('/charges', (req, res) => {
    sendListing(req, res, (since) => ledger.listCharges(since).map(listedCharge));
  });

  // One charge by id, as a reconciler looks up a charge older than its window.
  app.get('/charges/:id', (req: Request<{ id: string }>, res) => {
    const charge = ledger.findCharge(req.params.id);
    if (!charge) {
      send(res, { status: 404, body: errorBody('resource_missing', `No such charge: ${req.params.id}`) });
      return;
    }
    res.json(listedCharge(charge));
  });
}

/** A charge as GET /charges lists it. */
function listedCharge(c: Charge): object {
  return {
    id: c.id,
    idempotency_key: c.idempotency_key,
    amount_cents: c.amount_cents,
    currency: c.currency,
    created: c.created,
    refunded: c.refunded,
  };
}
