// The schemas the document names (components/schemas) instead of writing
// them out in each operation: requests as zod accepts them, answers as sent.
import type { z } from 'zod';
import { checkoutRequestSchema } from '../checkout/schema';
import { createEndpointSchema } from '../routes/webhooks';
import * as bodies from './bodies';

export const NAMED_SCHEMAS: Array<{ name: string; schema: z.ZodType; io: 'input' | 'output' }> = [
  { name: 'CheckoutRequest', schema: checkoutRequestSchema, io: 'input' },
  { name: 'CreateWebhookEndpointRequest', schema: createEndpointSchema, io: 'input' },
  { name: 'Error', schema: bodies.errorSchema, io: 'output' },
  { name: 'CompletedPayment', schema: bodies.completedPaymentSchema, io: 'output' },
  { name: 'PendingPayment', schema: bodies.pendingPaymentSchema, io: 'output' },
  { name: 'DeclinedPayment', schema: bodies.declinedPaymentSchema, io: 'output' },
  { name: 'ProviderGaveUpPayment', schema: bodies.providerGaveUpPaymentSchema, io: 'output' },
  { name: 'RefundedPayment', schema: bodies.refundedPaymentSchema, io: 'output' },
  { name: 'Payment', schema: bodies.paymentSchema, io: 'output' },
  { name: 'WebhookEndpoint', schema: bodies.webhookEndpointSchema, io: 'output' },
  { name: 'WebhookEndpointWithSecret', schema: bodies.webhookEndpointWithSecretSchema, io: 'output' },
  { name: 'WebhookEndpointList', schema: bodies.webhookEndpointListSchema, io: 'output' },
  { name: 'WebhookDelivery', schema: bodies.webhookDeliverySchema, io: 'output' },
  { name: 'WebhookDeliveryList', schema: bodies.webhookDeliveryListSchema, io: 'output' },
  { name: 'AdminWebhookDeliveryList', schema: bodies.adminWebhookDeliveryListSchema, io: 'output' },
  { name: 'ReconciliationRunList', schema: bodies.reconciliationRunListSchema, io: 'output' },
  { name: 'Health', schema: bodies.healthSchema, io: 'output' },
  { name: 'Readiness', schema: bodies.readinessSchema, io: 'output' },
];
