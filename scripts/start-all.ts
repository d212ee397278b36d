// `npm start`: the whole stack on one machine with embedded defaults.
// Ctrl-C stops every process it started.
import { loadStackConfig } from '../config';
import { LocalStack } from '../stack/local-stack';

const log = (line: string) => console.log(`[start] ${line}`);

async function main(): Promise<void> {
  const config = loadStackConfig();
  let stack: LocalStack | undefined;
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping every process this command started ...');
    await stack?.stop();
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    stack = new LocalStack({
      config,
      ports: {
        temporal: Number(config.temporal.address.split(':').pop()),
        pg: config.database.embeddedPort,
        stub: config.stub.port,
        api: config.api.port,
      },
      temporalUiPort: config.temporal.uiPort,
      dataDir: config.dataDir,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      databaseUrl: config.database.embedded ? undefined : config.database.url,
      // the stub started here, unless PAYMENTS_URL names another provider
      paymentsUrl: process.env.PAYMENTS_URL,
      stdio: 'inherit',
      // "up" once the worker polls: before, the first checkout would wait out the api budget (202)
      workerReady: 'poller',
      log,
      progress: log,
    });
    await stack.boot();
    for (const service of stack.processes()) {
      void service.exited.then((code) => {
        if (!stopping) {
          log(`${service.name} exited with code ${code}; stopping the stack`);
          void stopAll(1);
        }
      });
    }

    log('the stack is up:');
    log(`  api            http://localhost:${stack.ports.api}  (POST /checkout, GET /payments/{id}, /healthz, /readyz, /metrics)`);
    log(`  Temporal UI    http://localhost:${config.temporal.uiPort}`);
    log(`  Temporal gRPC  ${stack.temporalAddress} (namespace ${stack.namespace})`);
    log(`  payments-stub  http://localhost:${stack.ports.stub}  (GET /charges, /stats, PUT /faults)`);
    log(`  Postgres       ${stack.databaseUrl.replace(/:[^:@/]+@/, ':***@')}`);
    log('Ctrl-C stops everything.');
  } catch (err) {
    console.error(`[start] failed: ${(err as Error).message}`);
    await stopAll(1);
  }
}

void main();
