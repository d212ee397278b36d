// Every failure type the activities raise, and whether Temporal may retry it.
// Workflow retry policies name the non-retryable ones; nothing else decides.

export const FailureType = {
  /** The provider refused the card (402 card_declined). */
  CardDeclined: 'CardDeclined',
  /** The provider refused for lack of funds (402 insufficient_funds). */
  InsufficientFunds: 'InsufficientFunds',
  /** Our fraud rules refused the checkout before any charge. */
  FraudRejected: 'FraudRejected',
  /** The provider or the ledger said the request itself is wrong (4xx other than 402/429). */
  InvalidRequest: 'InvalidRequest',
  /** The database refused a ledger posting (constraint or balance check): retrying cannot help. */
  LedgerRefused: 'LedgerRefused',
  /** 5xx, 429, timeouts, resets: worth another attempt. */
  ProviderUnavailable: 'ProviderUnavailable',
  /** The shared circuit breaker is open: no call was made; wait until it half-opens. */
  ProviderCircuitOpen: 'ProviderCircuitOpen',
  /** The fleet's retry budget is spent: the retry is deferred, not dropped. */
  RetryBudgetExhausted: 'RetryBudgetExhausted',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.CardDeclined,
  FailureType.InsufficientFunds,
  FailureType.FraudRejected,
  FailureType.InvalidRequest,
  FailureType.LedgerRefused,
];

/** Failure types that end a checkout as a declined payment (HTTP 402) rather than an error. */
export const DECLINE_FAILURES: FailureType[] = [
  FailureType.CardDeclined,
  FailureType.InsufficientFunds,
  FailureType.FraudRejected,
];

/** The decline code clients see for each decline failure. */
export const DECLINE_CODES: Record<string, string> = {
  [FailureType.CardDeclined]: 'card_declined',
  [FailureType.InsufficientFunds]: 'insufficient_funds',
  [FailureType.FraudRejected]: 'fraud_rejected',
};
