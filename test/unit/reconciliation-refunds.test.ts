// Reconciliation's comparison with refund postings: a checkout refunded by
// the workflow has its charge and the charge's reversal in the ledger, which
// net to zero, as the refunded charge does at the provider.
import { describe, expect, it } from 'vitest';
import { compareChargesWithPostings, type LedgerChargePosting, type ProviderChargeRecord } from '../../domain/reconciliation-compare';

const charge = (over: Partial<ProviderChargeRecord> = {}): ProviderChargeRecord => ({
  id: 'ch_1',
  idempotency_key: 'checkout-k1:charge',
  amount_cents: 1_500,
  currency: 'USD',
  created: 1_700_000_000,
  refunded: false,
  ...over,
});

const posting = (over: Partial<LedgerChargePosting> = {}): LedgerChargePosting => ({
  workflow_id: 'checkout-k1',
  provider_charge_id: 'ch_1',
  amount_cents: 1_500,
  currency: 'USD',
  ...over,
});

describe('reconciliation with reversed postings', () => {
  it('a refunded charge whose posting is reversed (net zero on both sides) is no finding', () => {
    expect(compareChargesWithPostings([charge({ refunded: true })], [posting({ amount_cents: 0 })])).toEqual([]);
  });

  it('a refunded charge with no posting at all (compensated before refunds were posted) is still no finding', () => {
    expect(compareChargesWithPostings([charge({ refunded: true })], [])).toEqual([]);
  });

  it('a charge standing at the provider whose posting the ledger reversed is money our books do not show', () => {
    expect(compareChargesWithPostings([charge()], [posting({ amount_cents: 0 })])).toEqual([
      {
        kind: 'charge_without_posting',
        provider_charge_id: 'ch_1',
        workflow_id: 'checkout-k1',
        idempotency_key: 'checkout-k1:charge',
        provider_amount_cents: 1_500,
        ledger_amount_cents: null,
        currency: 'USD',
      },
    ]);
  });

  it('a refunded charge whose posting is not reversed is still posting_without_charge', () => {
    expect(compareChargesWithPostings([charge({ refunded: true })], [posting()])).toEqual([
      expect.objectContaining({ kind: 'posting_without_charge', provider_amount_cents: 0, ledger_amount_cents: 1_500 }),
    ]);
  });

  it('a reversed posting whose charge the provider does not list nets to nothing: no finding', () => {
    expect(compareChargesWithPostings([], [posting({ amount_cents: 0 })])).toEqual([]);
  });
});
