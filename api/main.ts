// Wires and runs the api process: `npm run start:api`.
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { createLogger } from '../logger';
import { startApiServer } from './app';
import { startOrphanSweeper } from './orphan-sweeper';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.logLevel);
  const pool = createPool(config.database.url, config.database.poolSize, (err) =>
    logger.warn({ err: err.message }, 'idle Postgres connection lost'),
  );
  await migrate(pool);
  // lazy: the api starts (and answers /healthz, 503s) even while Temporal is down
  const connection = Connection.lazy({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const api = await startApiServer(
    {
      client,
      pool,
      logger,
      taskQueue: config.temporal.taskQueue,
      apiBudgetMs: config.budgets.apiMs,
      rateLimitPerMinute: config.frontDoor.rateLimitPerMinute,
      maxInFlightCheckouts: config.frontDoor.maxInFlightCheckouts,
      webhookSecretRotationGraceMs: config.webhooks.secretRotationGraceMs,
      activityBudgets: {
        fraudMs: config.budgets.fraudMs,
        chargeMs: config.budgets.chargeMs,
        notifyMs: config.budgets.notifyMs,
        chargeTotalMs: config.chargeTotalMs,
      },
    },
    config.api.port,
    config.api.host,
  );
  logger.info({ url: api.url }, 'api listening');
  const orphanAfterMs = config.frontDoor.orphanPaymentAfterMs;
  const stopSweeper = startOrphanSweeper({ client, pool, logger, staleAfterMs: orphanAfterMs }, Math.max(1_000, orphanAfterMs / 2));

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
