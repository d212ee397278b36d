import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors';
import { loadApiConfig, loadStackConfig, loadWorkerConfig } from '../../config';
import { loadConfig as loadStubConfig } from '../../payments-stub/config';

describe('config', () => {
  it('runs locally with no environment at all', () => {
    const api = loadApiConfig({});
    const worker = loadWorkerConfig({});
    expect(api.api.port).toBe(3000);
    expect(loadStackConfig({}).api.port).toBe(3000);
    for (const config of [api, worker, loadStackConfig({})]) {
      expect(config.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'checkout' });
      expect(config.database.embedded).toBe(true);
    }
    expect(api.budgets).toEqual({ edgeMs: 10_000, apiMs: 3_000, fraudMs: 500, chargeMs: 2_000, notifyMs: 1_000 });
    expect(worker.budgets).toEqual({ chargeMs: 2_000, providerConnectMs: 500 });
  });

  it('uses DATABASE_URL instead of the embedded Postgres when set', () => {
    const config = loadWorkerConfig({ DATABASE_URL: 'postgres://u:p@db.internal:5432/pay' });
    expect(config.database).toMatchObject({ url: 'postgres://u:p@db.internal:5432/pay', embedded: false });
  });

  it('hosts a checkout worker in the api and starts checkouts eagerly unless API_EAGER_START is off', () => {
    expect(loadApiConfig({}).eagerStart).toBe(true);
    expect(loadApiConfig({ API_EAGER_START: '0' }).eagerStart).toBe(false);
    expect(loadApiConfig({ API_EAGER_START: 'false' }).eagerStart).toBe(false);
    expect(() => loadApiConfig({ API_EAGER_START: 'maybe' })).toThrow(/API_EAGER_START/);
  });

  it('limits activities per second on the task queue only when asked', () => {
    expect(loadWorkerConfig({}).workerMaxActivitiesPerSecond).toBe(0);
    expect(loadWorkerConfig({ WORKER_MAX_ACTIVITIES_PER_SECOND: '50' }).workerMaxActivitiesPerSecond).toBe(50);
    expect(() => loadWorkerConfig({ WORKER_MAX_ACTIVITIES_PER_SECOND: '-1' })).toThrow(/WORKER_MAX_ACTIVITIES_PER_SECOND/);
  });

  it('refuses a bad value naming the variable', () => {
    expect(() => loadApiConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadApiConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadStubConfig({ FAULT_MODE: 'explode' })).toThrow(/FAULT_MODE/);
  });

  it.each([
    [loadApiConfig, { API_BUDGET_MS: '12000' }, /EDGE_BUDGET_MS \(10000\) must exceed API_BUDGET_MS \(12000\)/],
    [loadApiConfig, { CHARGE_TIMEOUT_MS: '3000' }, /API_BUDGET_MS \(3000\) must exceed CHARGE_TIMEOUT_MS \(3000\)/],
    [loadWorkerConfig, { PROVIDER_CONNECT_TIMEOUT_MS: '2500' }, /CHARGE_TIMEOUT_MS \(2000\) must exceed PROVIDER_CONNECT_TIMEOUT_MS \(2500\)/],
  ])('refuses an inverted timeout budget (%o, %o)', (load, env, message) => {
    expect(() => load(env)).toThrow(message);
  });

  it('reads only its own slice: one process\'s bad setting does not stop another', () => {
    // an inverted api budget stops the api, not the worker or the stub
    expect(() => loadApiConfig({ EDGE_BUDGET_MS: '1000', API_BUDGET_MS: '5000' })).toThrow(/EDGE_BUDGET_MS/);
    expect(loadWorkerConfig({ EDGE_BUDGET_MS: '1000', API_BUDGET_MS: '5000' }).budgets.chargeMs).toBe(2_000);
    expect(loadStubConfig({ EDGE_BUDGET_MS: '1000', API_BUDGET_MS: '5000' }).port).toBe(9000);
  });
});
