// Runs the plain (non-durable) handler as its own process for the benchmark,
// configured like the api and worker (PORT, DATABASE_URL, PAYMENTS_URL, ...).
import http from 'node:http';
import { pepperOf } from '../accounts/pepper';
import { loadApiConfig, loadWorkerConfig } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { paymentsProviderFor } from '../worker/build';
import { createPlainApp } from './plain-handler';

// the charge activity gives its provider call its start-to-close less this margin
const PROVIDER_TIMEOUT_MARGIN_MS = 100;

async function main(): Promise<void> {
  // it does the api's job and the worker's in one process, so it reads both slices
  const apiConfig = loadApiConfig();
  const config = loadWorkerConfig();
  const pool = createPool(config.database.url, config.database.poolSize);
  await migrate(pool);
  const provider = paymentsProviderFor(config);
  const app = createPlainApp({
    pool,
    apiKeyPepper: pepperOf(apiConfig.apiKeys),
    provider,
    providerTimeoutMs: config.budgets.chargeMs - PROVIDER_TIMEOUT_MARGIN_MS,
    fraudMaxAmountCents: config.fraudMaxAmountCents,
  });
  const server = http.createServer(app);
  server.listen(apiConfig.api.port, apiConfig.api.host, () => console.log(`plain handler on http://${apiConfig.api.host}:${apiConfig.api.port}`));
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
