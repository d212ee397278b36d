// The database breaker's shared state: two api processes' guards (api/db-guard.ts)
// report to one breaker workflow on the real Temporal dev server, run by the
// test stack's worker; what one sees opens it for both, and one probe closes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbGuard } from '../../api/db-guard';
import { DB_BREAKER_DEFAULTS } from '../../domain/db-breaker';
import { startTestStack, testLogger, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

const rules = { ...DB_BREAKER_DEFAULTS, minVolume: 10, openMs: 1_000, probeHoldMs: 2_000 };

function guard(): DbGuard {
  return new DbGuard({ client: stack.client, pool: stack.pool, taskQueue: stack.taskQueue, logger: testLogger, config: rules, syncMs: 500 });
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the shared database breaker', () => {
  it('opens for every api when one sees the database slow, refuses with Retry-After, and closes after one good probe', async () => {
    const [a, b] = [guard(), guard()];
    await Promise.all([a.sync(), b.sync()]);
    expect(a.admit()).toEqual({ admitted: true });

    // api a alone sees its queries take 2 s
    for (let i = 0; i < 12; i++) a.observe(2_000, undefined);
    await a.sync();
    expect(a.state).toBe('open');
    await b.sync();
    expect(b.state).toBe('open'); // b saw nothing itself: the state is shared
    const refused = b.admit();
    expect(refused.admitted).toBe(false);
    expect(refused.admitted ? 0 : refused.retryAfterMs).toBeGreaterThanOrEqual(1_000);

    // after openMs, the first to report probes the (healthy) database and closes it for both
    const stops = [a.start(), b.start()];
    try {
      await until(() => a.state === 'closed' && b.state === 'closed', 10_000, 'both guards to see the breaker closed');
    } finally {
      for (const stop of stops) stop();
    }
    expect(b.admit()).toEqual({ admitted: true });
  });

  it('acts on its own counts when the shared breaker is out of reach', async () => {
    // a task queue no worker polls: the report times out, and the local rules decide
    const alone = new DbGuard({ client: stack.client, pool: stack.pool, taskQueue: `${stack.taskQueue}-nobody`, logger: testLogger, config: rules, syncMs: 300 });
    for (let i = 0; i < 12; i++) alone.observe(10, new Error('Connection terminated unexpectedly'));
    await alone.sync();
    expect(alone.state).toBe('open');
    expect(alone.admit().admitted).toBe(false);
  });
});
