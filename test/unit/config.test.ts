import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors';
import { loadConfig } from '../../config';

describe('config', () => {
  it('runs locally with no environment at all', () => {
    const config = loadConfig({});
    expect(config.api.port).toBe(3000);
    expect(config.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'checkout' });
    expect(config.database.embedded).toBe(true);
    expect(config.budgets).toEqual({ edgeMs: 10_000, apiMs: 3_000, fraudMs: 500, chargeMs: 2_000, notifyMs: 1_000, providerConnectMs: 500 });
  });

  it('uses DATABASE_URL instead of the embedded Postgres when set', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u:p@db.internal:5432/pay' });
    expect(config.database).toMatchObject({ url: 'postgres://u:p@db.internal:5432/pay', embedded: false });
  });

  it('limits activities per second on the task queue only when asked', () => {
    expect(loadConfig({}).workerMaxActivitiesPerSecond).toBe(0);
    expect(loadConfig({ WORKER_MAX_ACTIVITIES_PER_SECOND: '50' }).workerMaxActivitiesPerSecond).toBe(50);
    expect(() => loadConfig({ WORKER_MAX_ACTIVITIES_PER_SECOND: '-1' })).toThrow(/WORKER_MAX_ACTIVITIES_PER_SECOND/);
  });

  it('refuses a bad value naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ FAULT_MODE: 'explode' })).toThrow(/FAULT_MODE/);
  });

  it.each([
    [{ API_BUDGET_MS: '12000' }, /EDGE_BUDGET_MS \(10000\) must exceed API_BUDGET_MS \(12000\)/],
    [{ CHARGE_TIMEOUT_MS: '3000' }, /API_BUDGET_MS \(3000\) must exceed CHARGE_TIMEOUT_MS \(3000\)/],
    [{ PROVIDER_CONNECT_TIMEOUT_MS: '2500' }, /CHARGE_TIMEOUT_MS \(2000\) must exceed PROVIDER_CONNECT_TIMEOUT_MS \(2500\)/],
  ])('refuses an inverted timeout budget %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
