// The engine floor's process, worker and starter in one, as the api process
// is since issue 16 (worker/hosted-checkout-worker.ts): a Worker of
// bench/engine-floor/workflows.ts on its own task queue (ENGINE_FLOOR_TASK_QUEUE)
// and a Client on the Worker's NativeConnection. It serves a tiny HTTP
// endpoint on 127.0.0.1:ENGINE_FLOOR_PORT (loopback only):
//   POST /floor-checkout  the bench's checkout body and Idempotency-Key header:
//                         the floor workflow started eagerly from this process
//                         (start.ts), its result awaited; 201 when completed
//   GET  /starts          {"starts": M, "eager": N}: how many starts came back
//                         with their first workflow task (a server without
//                         system.enableEagerWorkflowStart shows N = 0)
//   GET  /healthz         200 once the Worker runs
// so the floor pays the same HTTP hop as a checkout through the api (without
// the api's key lookup and Postgres). Spawned by the bench on the stack's
// environment and node flags: the checkout worker's tuning (workerTuningOptions)
// against the same dev server, in its own process, so the bench process's CPU
// stays the load generator's.
import http from 'node:http';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadWorkerConfig } from '../../config';
import type { CheckoutRequest } from '../../domain/checkout';
import { connectionOptionsOf } from '../../temporal/connection-options';
import { dataConverterOf, FAILURE_CONVERTER_PATH } from '../../temporal/data-converter';
import { workerTuningOptions } from '../../worker/create-worker';
import { floorActivities } from './activities';
import { FLOOR_CHECKOUT_PATH, floorCheckout, type FloorStarts } from './start';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const taskQueue = required('ENGINE_FLOOR_TASK_QUEUE');
  const port = Number(required('ENGINE_FLOOR_PORT'));
  const merchantId = required('ENGINE_FLOOR_MERCHANT_ID');
  const config = loadWorkerConfig();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // a prebuilt bundle (WORKER_WORKFLOW_BUNDLE) is the checkout's code, not ours
  const tuning = { ...workerTuningOptions(config.workerTuning), workflowBundle: undefined };
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, 'workflows.ts'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
  const connection = await NativeConnection.connect(connectionOptionsOf(config.temporal));
  // the checkout's converter, so the floor pays what the checkout pays for encryption
  const dataConverter = dataConverterOf(config.temporal.dataProtection);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    activities: floorActivities,
    // every step is a local activity, as in the api's hosted worker: no activity poller
    ...tuning,
    enableNonLocalActivities: false,
    workflowBundle,
    dataConverter,
  });
  // on the Worker's connection: requestEagerStart needs it
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
  const counts: FloorStarts = { starts: 0, eager: 0 };

  const server = http.createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/healthz') return answer(200, { ok: true });
    if (req.method === 'GET' && req.url === '/starts') return answer(200, counts);
    if (req.method !== 'POST' || req.url !== FLOOR_CHECKOUT_PATH) return answer(404, { error: 'not_found' });
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return answer(400, { error: 'idempotency_key_required' });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let request: CheckoutRequest;
      try {
        request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CheckoutRequest;
      } catch {
        return answer(400, { error: 'invalid_json' });
      }
      floorCheckout(client, taskQueue, merchantId, key, request, counts).then(
        (completed) => answer(completed ? 201 : 500, { outcome: completed ? 'completed' : 'not_completed' }),
        (err: unknown) => {
          console.error(`engine-floor start failed: ${(err as Error).message}`);
          answer(500, { error: (err as Error).message });
        },
      );
    });
  });

  const running = worker.run().catch((err: unknown) => {
    console.error(`engine-floor worker failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  console.log(`engine-floor worker on ${taskQueue}; floor checkouts started eagerly from the worker's own process, over HTTP: POST http://127.0.0.1:${port}${FLOOR_CHECKOUT_PATH}`);
  // the SDK's default signal handling stops the Worker (the bench's SIGTERM)
  await running;
  server.close();
  server.closeAllConnections();
  console.log(`engine-floor: ${counts.eager} of ${counts.starts} starts eager`);
  await connection.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(`engine-floor worker failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
