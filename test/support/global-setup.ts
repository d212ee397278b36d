// Starts the real parts every test file shares: a Temporal dev server (in
// memory) and an embedded Postgres (throwaway data dir), and finds the
// time-skipping test server. `npm run provision` has built or fetched the tools.
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { loadStackConfig } from '../../config';
import { applicationRoleOf, migrate } from '../../db/migrate';
import { LocalStack } from '../../stack/local-stack';
import { PostgresSetupError } from '../../stack/postgres-runtime';
import { ensureTemporalCli, ensureTestServer } from '../../stack/toolchain';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** the application's role: reads and writes the tables, owns none (DATABASE_URL) */
    databaseUrl: string;
    /** the tables' owner, a superuser: migrations, and tests that create databases or tables */
    databaseOwnerUrl: string;
    testServerPath: string;
    temporalCli: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadStackConfig();
  const log = (line: string) => console.log(`[test setup] ${line}`);
  const cli = await ensureTemporalCli(config.tools, log);
  const testServerPath = await ensureTestServer(config.tools, log);

  // The local stack's Temporal and Postgres only. Postgres's data in a
  // throwaway directory in /tmp (mode 755), not the repo: as root, Postgres
  // runs as the postgres user, who must reach it; wherever the clone lives,
  // LocalStack runs the binaries from where that user can reach them
  // (stack/postgres-runtime.ts), and a setup problem fails here in one line.
  // Postgres runs in a process of its own (scripts/start-postgres.ts), as in
  // npm start and the drills, so a test run's exit code is vitest's alone.
  const stack = await LocalStack.start({
    config,
    cli,
    parts: ['temporal', 'postgres'],
    temporal: { inMemory: true },
    tmpPrefix: 'checkout-test-pg-',
    namespace: 'default',
    stdio: 'ignore',
    log,
  }).catch((err: unknown) => {
    // what to fix, in one line: its stack trace would only bury it
    if (err instanceof PostgresSetupError) err.stack = `${err.name}: ${err.message}`;
    throw err;
  });
  log(`Temporal dev server ${stack.temporalAddress}, Postgres on :${stack.ports.pg}`);
  // as the owner, granting the application's role its privileges before any test connects as it
  await migrate(stack.databaseMigrationUrl, { appRole: applicationRoleOf(stack.databaseUrl, stack.databaseMigrationUrl), log }).catch(async (err: unknown) => {
    await stack.stop();
    throw err;
  });

  project.provide('temporalAddress', stack.temporalAddress);
  project.provide('databaseUrl', stack.databaseUrl);
  project.provide('databaseOwnerUrl', stack.databaseMigrationUrl);
  project.provide('testServerPath', testServerPath);
  project.provide('temporalCli', cli);

  return () => stack.stop();
}
