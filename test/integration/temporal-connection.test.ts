// The api's Temporal connection (api/temporal-connection.ts): with Temporal
// unreachable, a call is over, retries included, by its deadline, so closing
// the connection afterwards (a deploy's SIGTERM) cannot be hit by a late retry.
import { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { connectApiToTemporal } from '../../api/temporal-connection';
import { freePort } from '../../stack/free-port';

describe('the api connection to an unreachable Temporal', () => {
  it('settles a call, retries included, by its deadline, and closes cleanly right after', async () => {
    const connection = connectApiToTemporal(`127.0.0.1:${await freePort()}`); // nothing listens there
    const client = new Client({ connection, namespace: 'default' });
    const deadline = Date.now() + 1_000;
    const error = await client
      .withDeadline(deadline, () => client.workflowService.getSystemInfo({}))
      .then(() => undefined, (err: unknown) => err as Error);
    const settledAt = Date.now();
    expect(error).toBeInstanceOf(Error);
    // the SDK's default would wait out a backoff (~0.8 s here) that ends past the deadline
    expect(settledAt).toBeLessThanOrEqual(deadline + 150);
    await connection.close();
    // a retry timer left behind would throw "Channel has been shut down" in this window
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  });
});
