import type { Client } from '@temporalio/client';
import type { Pool } from '../db/pool';

const CHECK_TIMEOUT_MS = 1_000;

export interface Readiness {
  ready: boolean;
  temporal: 'ok' | string;
  postgres: 'ok' | string;
}

/** Ready only when Temporal and Postgres both answer within a second. */
export async function checkReadiness(client: Client, pool: Pool): Promise<Readiness> {
  const [temporal, postgres] = await Promise.all([
    // the gRPC deadline, and a timer too: the SDK's retries can sleep past the deadline
    check(() =>
      withTimeout(
        client.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => client.workflowService.getSystemInfo({})),
        CHECK_TIMEOUT_MS,
      ),
    ),
    check(() => withTimeout(pool.query('SELECT 1'), CHECK_TIMEOUT_MS)),
  ]);
  return { ready: temporal === 'ok' && postgres === 'ok', temporal, postgres };
}

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await probe();
    return 'ok';
  } catch (err) {
    return `unreachable: ${(err as Error).message}`;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
