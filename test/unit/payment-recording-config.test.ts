// The payment-recording group of config.ts: the api's pending window and old-policy
// cap (passed in each workflow input), the worker's ledger retry intervals.
import { describe, expect, it } from 'vitest';
import { loadApiConfig, loadWorkerConfig, PAYMENT_RECORDING_VARIABLES } from '../../config';

describe('payment recording config', () => {
  it('defaults: a 24 h pending window, the old policy capped at 50 attempts, 200 ms to 10 s between ledger attempts', () => {
    expect(loadApiConfig({}).paymentRecording).toEqual({ pendingMaxMs: 24 * 60 * 60 * 1000, oldPolicyMaxAttempts: 50 });
    expect(loadWorkerConfig({}).ledgerRetry).toEqual({ initialIntervalMs: 200, maximumIntervalMs: 10_000 });
    expect(PAYMENT_RECORDING_VARIABLES.sort()).toEqual(
      ['LEDGER_OLD_POLICY_MAX_ATTEMPTS', 'LEDGER_RETRY_INITIAL_MS', 'LEDGER_RETRY_MAX_INTERVAL_MS', 'PAYMENT_PENDING_MAX_MS'].sort(),
    );
  });

  it('reads each process its own variables; 0 turns the pending window off', () => {
    const api = loadApiConfig({ PAYMENT_PENDING_MAX_MS: '0', LEDGER_OLD_POLICY_MAX_ATTEMPTS: '10', LEDGER_RETRY_MAX_INTERVAL_MS: 'nonsense' });
    expect(api.paymentRecording).toEqual({ pendingMaxMs: 0, oldPolicyMaxAttempts: 10 });
    const worker = loadWorkerConfig({ LEDGER_RETRY_INITIAL_MS: '50', LEDGER_RETRY_MAX_INTERVAL_MS: '500', PAYMENT_PENDING_MAX_MS: 'nonsense' });
    expect(worker.ledgerRetry).toEqual({ initialIntervalMs: 50, maximumIntervalMs: 500 });
  });

  it('refuses bad values, naming the variable', () => {
    expect(() => loadApiConfig({ PAYMENT_PENDING_MAX_MS: '-1' })).toThrow(/PAYMENT_PENDING_MAX_MS/);
    expect(() => loadApiConfig({ LEDGER_OLD_POLICY_MAX_ATTEMPTS: '0' })).toThrow(/LEDGER_OLD_POLICY_MAX_ATTEMPTS/);
    expect(() => loadWorkerConfig({ LEDGER_RETRY_INITIAL_MS: '1000', LEDGER_RETRY_MAX_INTERVAL_MS: '500' })).toThrow(/LEDGER_RETRY_MAX_INTERVAL_MS/);
  });
});
