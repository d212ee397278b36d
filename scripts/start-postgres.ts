// `npm run start:postgres`: the embedded Postgres alone, data kept in DATA_DIR.
import path from 'node:path';
import { loadStackConfig } from '../config';
import { startEmbeddedPostgres } from '../stack/embedded-postgres';

async function main(): Promise<void> {
  const config = loadStackConfig();
  const log = (line: string) => console.log(`[postgres] ${line}`);
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(config.dataDir, 'postgres'),
    port: config.database.embeddedPort,
  });
  log(`Postgres on ${pg.url.replace(/:[^:@/]+@/, ':***@')}; Ctrl-C stops it`);
  const stop = () => void pg.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`[postgres] failed: ${(err as Error).message}`);
  process.exit(1);
});
