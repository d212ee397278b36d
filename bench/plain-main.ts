// Runs the plain (non-durable) handler as its own process for the benchmark,
// configured like the api and worker (PORT, DATABASE_URL, PAYMENTS_URL, ...).
import http from 'node:http';
import { PaymentsProvider } from '../activities/checkout/payments-provider';
import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { createPlainApp } from './plain-handler';

// the charge activity gives its provider call its start-to-close less this margin
const PROVIDER_TIMEOUT_MARGIN_MS = 100;

async function main(): Promise<void> {
  const config = loadConfig();
  const pool = createPool(config.database.url, config.database.poolSize);
  await migrate(pool);
  const provider = new PaymentsProvider({ baseUrl: config.paymentsUrl, connectTimeoutMs: config.budgets.providerConnectMs });
  const app = createPlainApp({
    pool,
    provider,
    providerTimeoutMs: config.budgets.chargeMs - PROVIDER_TIMEOUT_MARGIN_MS,
    fraudMaxAmountCents: config.fraudMaxAmountCents,
  });
  const server = http.createServer(app);
  server.listen(config.api.port, config.api.host, () => console.log(`plain handler on http://${config.api.host}:${config.api.port}`));
  const stop = () => {
    server.close(() => void Promise.all([pool.end(), provider.close()]).then(() => process.exit(0)));
    server.closeIdleConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`plain handler failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
