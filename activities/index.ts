export { createActivities, type CheckoutActivities, type ActivityDeps } from './checkout-activities';
export { PaymentsProvider } from './payments-provider';
export { createReconciliationActivities, type ReconciliationActivities } from './reconciliation-activities';
export { ProviderListings } from './reconciliation-provider';
export { createWebhookActivities, createWebhookHttpAgent, type WebhookActivities } from './webhook-activities';
