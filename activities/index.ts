export { createActivities, type CheckoutActivities, type ActivityDeps, type CheckoutActivityMetrics } from './checkout/activities';
export { PaymentsProvider } from './checkout/payments-provider';
export { createReconciliationActivities, type ReconciliationActivities } from './reconciliation/activities';
export { ProviderListings } from './reconciliation/provider-listings';
export { createWebhookActivities, createWebhookHttpAgent, type WebhookActivities } from './webhooks/activities';
