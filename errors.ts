// Every failure the system names: the Temporal failure types the activities
// raise (and whether Temporal may retry them), and the error classes the api,
// the provider client and the database layer throw. Imported by workflow code:
// plain classes and strings only, no I/O, no Node built-ins.
import type { DeclineCode } from './domain/checkout';

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
  /** A webhook delivery workflow names a delivery row that does not exist: nothing to send, ever. */
  WebhookDeliveryUnknown: 'WebhookDeliveryUnknown',
  /** Postgres failed while a webhook attempt was being looked up or recorded: the attempt is tried again. */
  WebhookStoreUnavailable: 'WebhookStoreUnavailable',
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
export const DECLINE_CODES: Record<string, DeclineCode> = {
  [FailureType.CardDeclined]: 'card_declined',
  [FailureType.InsufficientFunds]: 'insufficient_funds',
  [FailureType.FraudRejected]: 'fraud_rejected',
};

/** An answer other than success, turned into `{error: {code, message, field?}}` by the api's error middleware. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A call to the payment provider failed; retryable says whether another attempt may help. */
export class ProviderCallError extends Error {
  override name = 'ProviderCallError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Postgres did not answer in time (no connection, or a statement past its deadline). */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/** A wait bounded by a deadline (epoch ms) reached it first. */
export class DeadlinePassed extends Error {
  override name = 'DeadlinePassed';
}

/** A configuration value is missing, malformed or inconsistent; the process stops with this message. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
