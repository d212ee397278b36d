// `npm start`: the whole stack on one machine with embedded defaults. A
// worker, the api or the stub that dies is started again (stack/supervisor.ts,
// as docker-compose's restart policy would); Temporal or Postgres dying, or a
// part that keeps dying, stops the stack with one line saying so. Ctrl-C stops
// every process it started.
import path from 'node:path';
import { apiVars, loadStackConfig } from '../config';
import type { DevApiKey } from '../stack/dev-api-key';
import { LocalStack } from '../stack/local-stack';
import { Supervisor } from '../stack/supervisor';

const log = (line: string) => console.log(`[start] ${line}`);

async function main(): Promise<void> {
  const config = loadStackConfig();
  let stack: LocalStack | undefined;
  let supervisor: Supervisor | undefined;
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    supervisor?.stop();
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
      databaseMigrationUrl: config.database.embedded ? undefined : config.database.migrationUrl,
      // the stub started here, unless PAYMENTS_URL names another provider
      paymentsUrl: process.env.PAYMENTS_URL,
      stdio: 'inherit',
      // "up" once the worker polls: before, the first checkout would wait out the api budget (202)
      workerReady: 'poller',
      log,
      progress: log,
    });
    await stack.boot();
    if (stopping) return;

    // the services: restarted when they die
    supervisor = new Supervisor(stack, {
      log,
      onGiveUp: (line) => {
        log(line);
        void stopAll(1);
      },
    });
    supervisor.start();
    // Temporal and Postgres hold the state: if one dies, the stack stops (start it again)
    const stateful: Array<[string, Promise<unknown>, () => string]> = [];
    if (stack.temporal) {
      const temporal = stack.temporal.process;
      stateful.push(['the Temporal dev server', new Promise((r) => temporal.once('exit', r)), () => exitOf(temporal.exitCode, temporal.signalCode)]);
    }
    if (stack.postgres) {
      const postgres = stack.postgres.service.child;
      stateful.push(['Postgres', stack.postgres.service.exited, () => exitOf(postgres.exitCode, postgres.signalCode)]);
    }
    for (const [name, exited, how] of stateful) {
      void exited.then(async () => {
        await new Promise((r) => setTimeout(r, 300)); // a Ctrl-C reaches it and us at once
        if (stopping) return;
        log(`${name} ${how()}; npm start does not restart it: stopping the stack (run npm start again)`);
        void stopAll(1);
      });
    }

    log('the stack is up:');
    log(`  api            http://localhost:${stack.ports.api}  (POST /checkout, GET /payments/{id}, /healthz, /readyz; all but the last two need an API key)`);
    log(`  api metrics    http://localhost:${apiVars.API_METRICS_PORT.parse(stack.env.API_METRICS_PORT)}/metrics`);
    log(`  Temporal UI    http://localhost:${config.temporal.uiPort}`);
    log(`  Temporal gRPC  ${stack.temporalAddress} (namespace ${stack.namespace})`);
    log(`  payments-stub  http://localhost:${stack.ports.stub}  (GET /charges, /stats, PUT /faults)`);
    log(`  Postgres       ${stack.databaseUrl.replace(/:[^:@/]+@/, ':***@')}`);
    if (stack.devApiKey) printDevApiKey(stack.devApiKey, stack.ports.api);
    log('A worker, the api or the stub that dies is restarted. Ctrl-C stops everything.');
  } catch (err) {
    if (stopping) return;
    // a setup problem (PostgresSetupError) is one line saying what and how to fix it: no stack either way
    console.error(`[start] failed: ${(err as Error).message}`);
    await stopAll(1);
  }
}

/**
 * A new key is printed this once (it is in the file too); a key found in the
 * file is not printed again, only where it is. Either way, a curl to try.
 */
function printDevApiKey(dev: DevApiKey, apiPort: number): void {
  const file = shownPath(dev.file);
  if (dev.issued !== undefined) {
    log(`development merchant ${dev.merchantId}: a new secret API key (${dev.issued}). Shown this once:`);
    log(`  ${dev.key}`);
    log(`saved in ${file} (mode 600), where npm run checkout reads it (CHECKOUT_API_KEY overrides it). Try:`);
  } else {
    log(`development merchant ${dev.merchantId}: its API key is in ${file} (not shown again; delete the file and restart for a new one). Try:`);
  }
  log(
    `  curl -i -X POST http://localhost:${apiPort}/checkout -H "Authorization: Bearer $(cat ${file})" -H 'Idempotency-Key: order-1001' ` +
      `-H 'Content-Type: application/json' -d '{"customer_id":"c1","amount_cents":1999,"currency":"USD","payment_method_id":"pm_card_visa"}'`,
  );
}

/** The file as the user's shell reaches it: relative to where npm was run (INIT_CWD) when inside it, else absolute; quoted if it must be. */
function shownPath(file: string): string {
  const relative = path.relative(process.env.INIT_CWD ?? process.cwd(), file);
  const shown = relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
  return /^[\w./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

function exitOf(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

void main();
