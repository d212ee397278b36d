// The local-stack scripts' slice (npm start, drills, bench, test setup): where
// state and tools live, and the ports.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { apiVars } from './api';
import { databaseOf, databaseVars, processVars, temporalOf, temporalVars, type DatabaseConfig, type TemporalConfig } from './common';
import { parse, port } from './read';

// What the local-stack scripts (npm start, the drills, the bench, the test setup) read.
export const stackVars = {
  // local state of the embedded parts (Temporal's SQLite file, Postgres data)
  DATA_DIR: z.string().min(1).default('.data'),
  TEMPORAL_UI_PORT: port(8233),
  STUB_PORT: port(9000),
  // tools built or fetched on first use, kept outside the repo
  CHECKOUT_CACHE_DIR: z.string().min(1).optional(),
  TEMPORAL_CLI: z.string().min(1).optional(),
  TEMPORAL_TEST_SERVER: z.string().min(1).optional(),
  // checks deploy/prometheus.yml and deploy/alert-rules.yml
  PROMTOOL: z.string().min(1).optional(),
  // the cluster stack (npm run start:cluster): Temporal's server, its schema tool and its Web UI server
  TEMPORAL_SERVER: z.string().min(1).optional(),
  TEMPORAL_SQL_TOOL: z.string().min(1).optional(),
  TEMPORAL_UI_SERVER: z.string().min(1).optional(),
  // the round-robin front over the cluster stack's two apis
  CLUSTER_FRONT_PORT: port(8080),
};

export const stackSchema = z.object({ ...processVars, ...temporalVars, ...databaseVars, PORT: apiVars.PORT, ...stackVars });

/** What the local-stack scripts (npm start, drills, bench, test setup) need: where state and tools live, and the ports. */
export interface StackConfig {
  logLevel: string;
  dataDir: string;
  tools: {
    cacheDir: string;
    temporalCli: string | undefined;
    testServer: string | undefined;
    promtool: string | undefined;
    temporalServer: string | undefined;
    temporalSqlTool: string | undefined;
    temporalUiServer: string | undefined;
  };
  temporal: TemporalConfig & { uiPort: number };
  database: DatabaseConfig;
  api: { port: number; host: string };
  stub: { port: number };
  cluster: { frontPort: number };
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const e = parse(stackSchema, env);
  return {
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.DATA_DIR),
    tools: {
      cacheDir: e.CHECKOUT_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'checkout-temporal'),
      temporalCli: e.TEMPORAL_CLI,
      testServer: e.TEMPORAL_TEST_SERVER,
      promtool: e.PROMTOOL,
      temporalServer: e.TEMPORAL_SERVER,
      temporalSqlTool: e.TEMPORAL_SQL_TOOL,
      temporalUiServer: e.TEMPORAL_UI_SERVER,
    },
    temporal: { ...temporalOf(e), uiPort: e.TEMPORAL_UI_PORT },
    database: databaseOf(e),
    api: { port: e.PORT, host: e.HOST },
    stub: { port: e.STUB_PORT },
    cluster: { frontPort: e.CLUSTER_FRONT_PORT },
  };
}
