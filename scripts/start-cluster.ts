// `npm run start:cluster`: the production topology on this machine
// (stack/cluster-stack.ts): Temporal's server on Postgres from the files
// docker-compose mounts, two workers, two apis and a round-robin front.
// As under npm start: a worker, an api or the stub that dies is started again
// (stack/supervisor.ts); the Temporal server or Postgres dying, or a part that
// keeps dying, stops everything with one line saying so; Ctrl-C stops every
// process it started. State lives in DATA_DIR/cluster, apart from npm start's.
import path from 'node:path';
import { apiVars, loadStackConfig, workerVars } from '../config';
import { ClusterStack } from '../stack/cluster-stack';
import { Supervisor } from '../stack/supervisor';
import { DEFAULT_TEMPORAL_SERVER_PORTS } from '../stack/temporal-server';

const log = (line: string) => console.log(`[cluster] ${line}`);

async function main(): Promise<void> {
  const config = loadStackConfig();
  const apiMetrics = apiVars.API_METRICS_PORT.parse(process.env.API_METRICS_PORT);
  const workerMetrics = workerVars.WORKER_METRICS_PORT.parse(process.env.WORKER_METRICS_PORT);
  const cluster = new ClusterStack({
    config,
    ports: {
      temporal: { ...DEFAULT_TEMPORAL_SERVER_PORTS, frontend: Number(config.temporal.address.split(':').pop()) },
      pg: config.database.embeddedPort,
      stub: config.stub.port,
      apis: [config.api.port, config.api.port + 1],
      // the second of each on the port after the next: 9464 to 9467 by default, no two alike
      apiMetrics: [apiMetrics, apiMetrics + 2],
      workerMetrics: [workerMetrics, workerMetrics + 2],
      front: config.cluster.frontPort,
    },
    uiPort: config.temporal.uiPort,
    dataDir: path.join(config.dataDir, 'cluster'),
    namespace: config.temporal.namespace,
    stdio: 'inherit',
    log,
    progress: log,
  });
  let supervisor: Supervisor | undefined;
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    supervisor?.stop();
    log('stopping every process this command started ...');
    await cluster.stop();
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    await cluster.boot();
    if (stopping) return;
    const stack = cluster.local;
    supervisor = new Supervisor(stack, {
      log,
      onGiveUp: (line) => {
        log(line);
        void stopAll(1);
      },
    });
    supervisor.start();
    // the Temporal server and Postgres hold the state: if one dies, everything stops (start it again)
    const stateful = [
      ['the Temporal server', stack.temporal?.process],
      ['Postgres', stack.postgres?.service.child],
    ] as const;
    for (const [name, child] of stateful) {
      child?.once('exit', (code, signal) => {
        setTimeout(() => {
          if (stopping) return; // a Ctrl-C reaches it and us at once
          log(`${name} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; start:cluster does not restart it: stopping (run it again)`);
          if (name === 'the Temporal server' && cluster.server) log(`its output ended:\n${cluster.server.tail().slice(-2_000)}`);
          void stopAll(1);
        }, 300);
      });
    }

    log('the cluster is up (topology: cluster; docs/design.md, "Running the stack"):');
    log(`  front          http://localhost:${cluster.front?.port}  (round robin over both apis, skipping one that is down)`);
    cluster.apis.forEach((api, i) => log(`  api ${i + 1}          http://localhost:${cluster.ports.apis[i]}  (pid ${api.service.child.pid}, metrics :${cluster.ports.apiMetrics[i]})`));
    stack.workers.forEach((w, i) => log(`  worker ${i + 1}       pid ${w.service.child.pid}, metrics :${cluster.ports.workerMetrics[i]}`));
    log(`  Temporal gRPC  ${stack.temporalAddress} (namespace ${stack.namespace}; the server proper, pid ${stack.temporal?.process.pid}, state in Postgres)`);
    if (cluster.ui) log(`  Temporal UI    http://localhost:${config.temporal.uiPort}`);
    log(`  payments-stub  http://localhost:${stack.ports.stub}`);
    log(`  Postgres       ${stack.databaseUrl.replace(/:[^:@/]+@/, ':***@')} (Temporal's in databases temporal and temporal_visibility)`);
    if (stack.devApiKey) {
      log(`development merchant ${stack.devApiKey.merchantId}: its API key is in ${stack.devApiKey.file}${stack.devApiKey.issued ? ' (new)' : ''}. Try:`);
      log(
        `  curl -i -X POST http://localhost:${cluster.front?.port}/checkout -H "Authorization: Bearer $(cat ${stack.devApiKey.file})" -H 'Idempotency-Key: order-1001' ` +
          `-H 'Content-Type: application/json' -d '{"customer_id":"c1","amount_cents":1999,"currency":"USD","payment_method_id":"pm_card_visa"}'`,
      );
    }
    log('A worker, an api or the stub that dies is restarted. Ctrl-C stops everything.');
  } catch (err) {
    if (stopping) return;
    console.error(`[cluster] failed: ${(err as Error).message}`);
    await stopAll(1);
  }
}

void main();
