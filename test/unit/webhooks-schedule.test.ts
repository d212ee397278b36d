// The retry schedule as configured: parsed from WEBHOOK_RETRY_SCHEDULE, and
// each wait jittered within its bounds.
import { describe, expect, it } from 'vitest';
import { maxAttempts, retryDelayMs } from '../../activities/webhooks/retry-schedule';
import { ConfigError } from '../../errors';
import { loadWorkerConfig } from '../../config';

describe('webhook retry schedule', () => {
  it('defaults to 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts', () => {
    const { webhooks } = loadWorkerConfig({});
    const s = 1_000;
    const h = 3_600 * s;
    expect(webhooks.retryDelaysMs).toEqual([5 * s, 300 * s, 1_800 * s, 2 * h, 5 * h, 10 * h, 14 * h, 20 * h, 24 * h]);
    expect(maxAttempts({ delaysMs: webhooks.retryDelaysMs, jitterRatio: 0.2 })).toBe(10);
  });

  it('a malformed schedule stops the process with the variable named', () => {
    expect(() => loadWorkerConfig({ WEBHOOK_RETRY_SCHEDULE: '5s,soon' })).toThrow(ConfigError);
    expect(() => loadWorkerConfig({ WEBHOOK_RETRY_SCHEDULE: '5s,soon' })).toThrow(/WEBHOOK_RETRY_SCHEDULE: "soon"/);
    expect(loadWorkerConfig({ WEBHOOK_RETRY_SCHEDULE: '250ms, 1.5s,2m' }).webhooks.retryDelaysMs).toEqual([250, 1_500, 120_000]);
  });

  it('each wait lies within ±jitter of the schedule, spread rather than fixed, and none follows the last attempt', () => {
    const schedule = { delaysMs: [10_000, 60_000], jitterRatio: 0.2 };
    expect(retryDelayMs(schedule, 1, () => 0)).toBe(8_000);
    expect(retryDelayMs(schedule, 1, () => 1)).toBe(12_000);
    expect(retryDelayMs(schedule, 2, () => 0.5)).toBe(60_000);
    const waits = new Set(Array.from({ length: 50 }, () => retryDelayMs(schedule, 1)));
    expect(waits.size).toBeGreaterThan(1);
    expect(retryDelayMs(schedule, 3)).toBeUndefined();
  });
});
