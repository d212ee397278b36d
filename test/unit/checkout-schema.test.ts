import { describe, expect, it } from 'vitest';
import { fingerprintOf, parseCheckoutRequest } from '../../api/checkout/schema';

describe('request fingerprint', () => {
  const base = { customer_id: 'c1', amount_cents: 1999, currency: 'USD', payment_method_id: 'pm_card_visa' };

  it('ignores field order and whitespace', () => {
    const reordered = parseCheckoutRequest(JSON.parse('{ "currency":"USD",  "payment_method_id":"pm_card_visa","amount_cents":1999,"customer_id":"c1"}'));
    expect(fingerprintOf(reordered)).toBe(fingerprintOf(parseCheckoutRequest(base)));
  });

  it.each(['customer_id', 'amount_cents', 'currency', 'payment_method_id'] as const)('changes when %s changes', (field) => {
    const changed = { ...base, [field]: field === 'amount_cents' ? 2000 : field === 'currency' ? 'EUR' : 'other' };
    expect(fingerprintOf(parseCheckoutRequest(changed))).not.toBe(fingerprintOf(parseCheckoutRequest(base)));
  });
});
