// What the payment provider reports, as the activities and the reconciliation see it.
import type { Currency } from './checkout';

/** A charge as the provider reports it. */
export interface ProviderCharge {
  id: string;
  amount_cents: number;
  currency: Currency;
  created: number;
}

/** A refund as the provider reports it. */
export interface ProviderRefund {
  id: string;
  charge_id: string;
}
