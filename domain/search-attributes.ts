// Custom search attributes, registered when the dev server starts and upserted
// by the workflow, so a payment is found in the Web UI by merchant, customer and status
// (and by merchant and idempotency key through its workflow ID). They are stored
// in clear: CustomerId holds a keyed hash of the customer id (workflows started
// before it hold the id), and AmountCents is set only on those older workflows;
// it stays registered so they are still found by it.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  merchantId: defineSearchAttributeKey('MerchantId', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  paymentStatus: defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD),
  amountCents: defineSearchAttributeKey('AmountCents', SearchAttributeType.INT),
};
