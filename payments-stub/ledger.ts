// The charges and refunds the stub has applied, kept in memory in creation order.
import { randomBytes } from 'node:crypto';

export interface Charge {
  id: string;
  idempotency_key: string;
  amount_cents: number;
  currency: string;
  payment_method_id: string;
  /** Unix seconds. */
  created: number;
  refunded: boolean;
}

export interface Refund {
  id: string;
  idempotency_key: string;
  charge_id: string;
  amount_cents: number;
  currency: string;
  created: number;
}

export interface NewCharge {
  idempotency_key: string;
  amount_cents: number;
  currency: string;
  payment_method_id: string;
}

export class Ledger {
  // A Map keeps insertion order, which is creation order.
  private readonly charges = new Map<string, Charge>();
  private readonly refunds: Refund[] = [];

  addCharge(input: NewCharge): Charge {
    const charge: Charge = { id: newId('ch'), ...input, created: nowSeconds(), refunded: false };
    this.charges.set(charge.id, charge);
    return charge;
  }

  findCharge(id: string): Charge | undefined {
    return this.charges.get(id);
  }

  /** Charges created at or after `since` (unix seconds), oldest first. */
  listCharges(since = 0): Charge[] {
    return [...this.charges.values()].filter((c) => c.created >= since);
  }

  /** Refunds created at or after `since` (unix seconds), oldest first. */
  listRefunds(since = 0): Refund[] {
    return this.refunds.filter((r) => r.created >= since);
  }

  refund(charge: Charge, idempotencyKey: string): Refund {
    charge.refunded = true;
    const refund: Refund = {
      id: newId('re'),
      idempotency_key: idempotencyKey,
      charge_id: charge.id,
      amount_cents: charge.amount_cents,
      currency: charge.currency,
      created: nowSeconds(),
    };
    this.refunds.push(refund);
    return refund;
  }

  get chargeCount(): number {
    return this.charges.size;
  }

  get refundCount(): number {
    return this.refunds.length;
  }
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
