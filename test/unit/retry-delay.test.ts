import { describe, expect, it } from 'vitest';
import { fullJitterDelayMs } from '../../activities/retry-delay';

const policy = { initialIntervalMs: 200, maximumIntervalMs: 30_000 };

describe('full jitter retry delay', () => {
  it('spreads over [0, base·2^(attempt-1)) and never passes the cap', () => {
    expect(fullJitterDelayMs(1, policy, 0, () => 0.999)).toBe(199);
    expect(fullJitterDelayMs(3, policy, 0, () => 0.5)).toBe(400);
    expect(fullJitterDelayMs(20, policy, 0, () => 0.999)).toBe(29_970);
  });

  it('is never zero, which would fall back to the un-jittered policy', () => {
    expect(fullJitterDelayMs(1, policy, 0, () => 0)).toBe(1);
  });

  it("never retries before the provider's Retry-After", () => {
    expect(fullJitterDelayMs(1, policy, 5_000, () => 0.5)).toBe(5_000);
  });

  it('differs between callers: retries do not arrive in lockstep', () => {
    const delays = new Set(Array.from({ length: 50 }, () => fullJitterDelayMs(6, policy)));
    expect(delays.size).toBeGreaterThan(25);
  });
});
