// The api's HTTP server: listens, and closes without waiting on idle keep-alives.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';

export interface RunningApi {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on port (0 = any free port) and resolves once accepting connections. */
export async function listen(app: express.Express, port: number, host = '127.0.0.1'): Promise<RunningApi> {
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
