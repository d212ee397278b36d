// `npm run start:postgres`: the embedded Postgres alone, data kept in DATA_DIR
// (npm start and the drills run this too, as a process of its own). It exits
// when Postgres does; a problem to fix is one line, not a stack.
import path from 'node:path';
import { loadStackConfig } from '../config';
import { startEmbeddedPostgres } from '../stack/embedded-postgres';
import { describeRuntime } from '../stack/postgres-runtime';

const log = (line: string) => console.log(`[postgres] ${line}`);

async function main(): Promise<void> {
  const config = loadStackConfig();
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(config.dataDir, 'postgres'),
    port: config.database.embeddedPort,
    log: (line) => {
      if (/copying|removing/.test(line)) log(line);
    },
  });
  log(`Postgres on ${pg.url.replace(/:[^:@/]+@/, ':***@')} (${describeRuntime(pg.runtime)}); Ctrl-C stops it`);
  let stopping = false;
  const stop = () => {
    stopping = true;
    void pg.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  void pg.exited.then(async (code) => {
    // a Ctrl-C reaches Postgres and this process at once: give our handler its turn
    await new Promise((r) => setTimeout(r, 500));
    if (stopping) return;
    log(`Postgres exited on its own (${code === null ? 'killed by a signal' : `exit ${code}`})`);
    process.exit(1);
  });
}

main().catch((err: unknown) => {
  console.error(`[postgres] failed: ${(err as Error).message.split('\n')[0]}`);
  process.exit(1);
});
