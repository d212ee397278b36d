// The engine's floor: a bare workflow of the checkout's shape (workflows/checkout.ts,
// happy path since issue 16) with no I/O. The same commands in the same order:
// the three patch markers (notify-local-activity, one-task-happy-path,
// fraud-check-local-activity), then all four steps as LOCAL activities
// (fraud check, the charge's first attempt, the ledger write's first
// attempt), the 'completed' upsert and the notification, so a floor checkout
// is one workflow task, as a checkout that succeeds first time is. Every
// activity a no-op. Bundled on its own (worker-main.ts).
import { patched, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { CheckoutInput, CompletedOutcome } from '../../domain/checkout';
import { SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import type { FloorActivities } from './activities';

/** The workflow type, also what the bench counts to know the floor's load has drained. */
export const ENGINE_FLOOR_WORKFLOW = 'engineFloorCheckout';

// the checkout's own patch IDs (workflows/checkout.ts), as strings: importing that module would bundle it too
const LEAN_NOTIFY = 'notify-local-activity';
const ONE_TASK_HAPPY_PATH = 'one-task-happy-path';
const FRAUD_AS_LOCAL_ACTIVITY = 'fraud-check-local-activity';

// the checkout's local activity options (DEFAULT_ACTIVITY_BUDGETS, LEDGER_ATTEMPT_MS); retries never happen here
const fraud = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: 500, retry: { maximumAttempts: 5 } });
const charge = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: 2_000, retry: { maximumAttempts: 1 } });
const ledger = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: 5_000, retry: { maximumAttempts: 1 } });
const notify = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: 1_000, retry: { initialInterval: 200, maximumAttempts: 2 } });

export async function engineFloorCheckout(input: CheckoutInput): Promise<CompletedOutcome> {
  const { idempotencyKey, request, paymentId } = input;
  patched(LEAN_NOTIFY);
  patched(ONE_TASK_HAPPY_PATH);
  patched(FRAUD_AS_LOCAL_ACTIVITY);
  await fraud.checkFraud({ idempotencyKey, request });
  const charged = await charge.chargePayment({ idempotencyKey, providerKey: `${paymentId}-charge` });
  const completed: CompletedOutcome = {
    outcome: 'completed',
    payment: { payment_id: paymentId, amount_cents: request.amount_cents, currency: request.currency, created_at: input.createdAt, provider_charge_id: charged.id },
  };
  await ledger.recordCompletedPayment({ idempotencyKey, ...completed });
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.paymentStatus, value: 'completed' }]);
  await notify.notifyCustomer({ idempotencyKey, paymentId, kind: 'completed' });
  return completed;
}
