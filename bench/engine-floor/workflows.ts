// The engine's floor: a bare workflow of the checkout's shape (workflows/checkout.ts,
// happy path) with no I/O. The same commands in the same order: the two patch
// markers, fraud check as a local activity, charge and ledger posting as
// regular activities, the 'completed' upsert, notification as a local
// activity; every activity a no-op. Bundled on its own (worker-main.ts).
import { patched, proxyActivities, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { CheckoutInput, CompletedOutcome } from '../../domain/checkout';
import { SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import type { FloorActivities } from './activities';

/** The workflow type, also what the bench counts to know the floor's load has drained. */
export const ENGINE_FLOOR_WORKFLOW = 'engineFloorCheckout';

// the checkout's own patch IDs (workflows/checkout.ts), as strings: importing that module would bundle it too
const LEAN_NOTIFY = 'notify-local-activity';
const FRAUD_AS_LOCAL_ACTIVITY = 'fraud-check-local-activity';

// the checkout's timeouts (DEFAULT_ACTIVITY_BUDGETS); retries never happen here
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: 500, retry: { maximumAttempts: 5 } });
const remote = proxyActivities<FloorActivities>({ startToCloseTimeout: 2_000, scheduleToCloseTimeout: 3_600_000 });

export async function engineFloorCheckout(input: CheckoutInput): Promise<CompletedOutcome> {
  const { idempotencyKey, request, paymentId } = input;
  patched(LEAN_NOTIFY);
  patched(FRAUD_AS_LOCAL_ACTIVITY);
  await local.checkFraud({ idempotencyKey, request });
  const charge = await remote.chargePayment({ idempotencyKey, providerKey: `${paymentId}-charge` });
  const completed: CompletedOutcome = {
    outcome: 'completed',
    payment: { payment_id: paymentId, amount_cents: request.amount_cents, currency: request.currency, created_at: input.createdAt, provider_charge_id: charge.id },
  };
  await remote.recordCompletedPayment({ idempotencyKey, ...completed });
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.paymentStatus, value: 'completed' }]);
  await local.notifyCustomer({ idempotencyKey, paymentId, kind: 'completed' });
  return completed;
}
