// `npm run check-invariants`: the drills' invariant checker against a running
// stack (the one `npm start` runs, or any other by its variables).
import { loadStackConfig } from '../config';
import { createPool } from '../db/pool';
import { checkInvariants, invariantLine } from '../drills/invariants';
import { connectTemporalClient } from '../temporal/client';

async function main(): Promise<void> {
  const config = loadStackConfig();
  // the provider npm start's worker calls: PAYMENTS_URL, or the stub it started
  const stubUrl = process.env.PAYMENTS_URL ?? `http://127.0.0.1:${config.stub.port}`;
  const pool = createPool(config.database.url, 2);
  const client = await connectTemporalClient(config.temporal, { connectTimeoutMs: 5_000 });
  try {
    const result = await checkInvariants({ pool, stubUrl, client });
    console.log(invariantLine(result));
    process.exitCode = result.ok ? 0 : 1;
  } finally {
    await client.connection.close();
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(`check-invariants failed: ${(err as Error).message}`);
  process.exit(1);
});
