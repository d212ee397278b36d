// The worker bundles this file: every workflow the checkout task queue runs.
export { checkout } from './checkout';
export { reconciliation } from './reconciliation';
export { webhookDelivery } from './webhook-delivery';
export { dbBreaker } from './db-breaker';
