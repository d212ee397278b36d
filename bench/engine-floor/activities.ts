// The engine floor's activities: the checkout's four steps by name, each a
// no-op that returns at once, so what is left is Temporal's own work.
import type { CheckoutInput, CompletedOutcome } from '../../domain/checkout';

export const floorActivities = {
  async checkFraud(_args: { idempotencyKey: string; request: CheckoutInput['request'] }): Promise<void> {},
  async chargePayment(args: { idempotencyKey: string; providerKey: string }): Promise<{ id: string }> {
    return { id: `ch_floor_${args.providerKey}` };
  },
  async recordCompletedPayment(_args: { idempotencyKey: string } & CompletedOutcome): Promise<void> {},
  async notifyCustomer(_args: { idempotencyKey: string; paymentId: string; kind: 'completed' }): Promise<void> {},
};

export type FloorActivities = typeof floorActivities;
