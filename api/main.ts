// Runs the api process: `npm run start:api`. The wiring is buildApi's (api/build.ts).
import { Client } from '@temporalio/client';
import { loadApiConfig } from '../config';
import { openMigratedPool } from '../db/open';
import { createLogger } from '../logger';
import { buildApi } from './build';
import { connectApiToTemporal } from './temporal-connection';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const logger = createLogger('api', config.logLevel);
  const pool = await openMigratedPool(config.database, config.databaseSession, logger);
  const connection = connectApiToTemporal(config.temporal.address);
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const built = buildApi(config, { client, pool, logger });
  // the server's timeouts and connection cap from config (API_HEADERS_TIMEOUT_MS, ...)
  const api = await built.listen(config.api.port, config.api.host);
  logger.info({ url: api.url }, 'api listening');
  const stopSweeper = built.startOrphanSweeper();

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'api stopping');
    stopSweeper();
    await api.close();
    await connection.close();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`api failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
