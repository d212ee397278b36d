import type { Client } from '@temporalio/client';
import type { Pool } from '../db/pool';
import { settledBy } from './deadline';

const CHECK_TIMEOUT_MS = 1_000;
const noAnswer = `no answer within ${CHECK_TIMEOUT_MS} ms`;

export interface Readiness {
  ready: boolean;
  temporal: 'ok' | string;
  postgres: 'ok' | string;
}

/** Ready only when Temporal and Postgres both answer within a second. */
export async function checkReadiness(client: Client, pool: Pool): Promise<Readiness> {
  const [temporal, postgres] = await Promise.all([
    // the gRPC deadline, and a timer too: the SDK's retries can sleep past the deadline
    check(() => {
      const deadline = Date.now() + CHECK_TIMEOUT_MS;
      return settledBy(deadline, client.withDeadline(deadline, () => client.workflowService.getSystemInfo({})), noAnswer);
    }),
    check(() => settledBy(Date.now() + CHECK_TIMEOUT_MS, pool.query('SELECT 1'), noAnswer)),
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
