// The naive checkout of the retry-storm incident (docs/design.md, "Failure scenarios and drills", scenario 8), for comparison
// only: what a plain request handler does with the provider. It charges, and on
// a 5xx, a timeout or a network error sends the same charge again at once, up
// to 3 more times: no backoff, no jitter, no retry budget, no breaker, nothing
// durable (a checkout whose 4 attempts fail is an error shown to the customer).
// It keeps one provider idempotency key per checkout, so it never double
// charges; the point of the comparison is the load it puts on the provider.
import { PaymentsProvider } from '../activities/checkout/payments-provider';
import { ProviderCallError } from '../errors';
import type { CheckoutRequest } from '../client/checkout-client';

export interface NaiveResult {
  /** completed, declined, or `gave up: <last error>` after the retries. */
  outcome: string;
  /** provider calls made for this checkout */
  attempts: number;
}

const RETRIES = 3;

export function createNaiveCharger(options: { providerUrl: string; requestTimeoutMs: number; connectTimeoutMs: number }) {
  const provider = new PaymentsProvider({ baseUrl: options.providerUrl, connectTimeoutMs: options.connectTimeoutMs });

  async function checkout(request: CheckoutRequest, idempotencyKey: string): Promise<NaiveResult> {
    let last = 'none';
    for (let attempt = 1; attempt <= RETRIES + 1; attempt += 1) {
      try {
        const result = await provider.charge({ idempotencyKey: `${idempotencyKey}:charge`, ...request }, options.requestTimeoutMs);
        return { outcome: result.kind === 'charged' ? 'completed' : 'declined', attempts: attempt };
      } catch (err) {
        if (err instanceof ProviderCallError && !err.retryable) return { outcome: `refused: ${err.status}`, attempts: attempt };
        last = err instanceof ProviderCallError ? String(err.status ?? err.message) : (err as Error).name;
      }
    }
    return { outcome: `gave up: ${last}`, attempts: RETRIES + 1 };
  }

  return { checkout };
}
