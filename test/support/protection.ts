import crypto from 'node:crypto';
import type { Pool } from '../../db/pool';
import { ProviderProtection, type ProviderProtectionConfig } from '../../db/provider-protection';

export interface ProtectionOverrides {
  breaker?: Partial<ProviderProtectionConfig['breaker']>;
  retryBudget?: Partial<ProviderProtectionConfig['retryBudget']>;
}

/**
 * The real breaker and retry budget, under a provider name of the test's own,
 * so one test's outage never opens another test's breaker.
 */
export function testProtection(pool: Pool, overrides: ProtectionOverrides = {}): ProviderProtection {
  return new ProviderProtection(pool, `payments-test-${crypto.randomUUID()}`, {
    breaker: { failureRatio: 0.5, windowMs: 10_000, minVolume: 10, openMs: 30_000, ...overrides.breaker },
    retryBudget: { ratio: 0.2, windowMs: 10_000, minPerWindow: 10, ...overrides.retryBudget },
    probeHoldMs: 3_000,
  });
}
