export { createActivities, type CheckoutActivities, type ActivityDeps } from './checkout-activities';
export { PaymentsProvider } from './payments-provider';
