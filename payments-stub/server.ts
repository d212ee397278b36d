// A fake payment provider over HTTP: Stripe-like charges and refunds behind
// idempotency keys, with faults (latency, errors, hangs, lost responses) set at
// start or changed at run time through PUT /faults. This file only listens and
// closes; app.ts builds the stub and routes/ answers the requests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStub, type StubOptions } from './app';

export { createStub, type Stub, type StubOptions } from './app';
export type { FaultMode, FaultSettings } from './faults';
export type { StubStats } from './routes/stats';

export interface RunningStub {
  url: string;
  port: number;
  /** Stops listening and drops every open connection, hung ones included. */
  close(): Promise<void>;
}

/** Starts the stub on options.port (0 = any free port) and resolves once it listens. */
export async function startStub(options: StubOptions): Promise<RunningStub> {
  const stub = createStub(options);
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer(stub.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Hung and slow requests would otherwise keep close() waiting forever.
        stub.faults.releaseHanging();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
