// `npm run start:temporal`: the Temporal dev server alone, state kept in DATA_DIR.
import path from 'node:path';
import { loadStackConfig } from '../config';
import { startTemporalDevServer } from '../stack/temporal-dev-server';
import { ensureTemporalCli } from '../stack/toolchain';

async function main(): Promise<void> {
  const config = loadStackConfig();
  const log = (line: string) => console.log(`[temporal] ${line}`);
  const cli = await ensureTemporalCli(config.tools, log);
  const server = await startTemporalDevServer({
    cli,
    port: Number(config.temporal.address.split(':').pop()),
    uiPort: config.temporal.uiPort,
    namespace: config.temporal.namespace,
    dbFile: path.join(config.dataDir, 'temporal.db'),
    log,
  });
  log(`Temporal dev server on ${server.address}, Web UI http://localhost:${config.temporal.uiPort}; Ctrl-C stops it`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`[temporal] failed: ${(err as Error).message}`);
  process.exit(1);
});
