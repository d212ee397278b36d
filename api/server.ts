// The api's HTTP server: listens with the slow-client settings of config.ts
// (headers, request and keep-alive timeouts, a connection cap), and closes
// without waiting on keep-alive connections: a deploy's SIGTERM ends it promptly.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import { API_SERVER_DEFAULTS, type ApiServerSettings } from '../config';

export type { ApiServerSettings } from '../config';

export interface RunningApi {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on port (0 = any free port) and resolves once accepting connections.
 * `settings` are ApiConfig.server (buildApi passes them); omitted, config.ts's defaults.
 */
export async function listen(app: express.Express, port: number, host = '127.0.0.1', settings: ApiServerSettings = API_SERVER_DEFAULTS): Promise<RunningApi> {
  const server = createApiServer(app, settings);
  // once closing, every answer says Connection: close, so a busy keep-alive
  // connection ends with its answer instead of holding the process open
  let closing = false;
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    // Answers in flight are finished (each is bounded by the api budget);
    // connections still open after requestTimeoutMs are cut.
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing = true;
        const cut = setTimeout(() => server.closeAllConnections(), settings.requestTimeoutMs);
        const idle = setInterval(() => server.closeIdleConnections(), 250);
        server.close((err) => {
          clearTimeout(cut);
          clearInterval(idle);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/**
 * The server, not yet listening. A request whose headers take longer than
 * headersTimeoutMs, or whose whole body longer than requestTimeoutMs, is
 * answered 408 and its connection closed; an idle keep-alive connection is
 * closed after keepAliveTimeoutMs; past maxConnections a new connection is
 * closed at once. Node checks the two request timeouts on a timer, every
 * second here (its default is 30 s), or a quarter of the shorter timeout.
 */
export function createApiServer(app: express.Express, settings: ApiServerSettings): http.Server {
  const server = http.createServer(
    {
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(Math.min(settings.headersTimeoutMs, settings.requestTimeoutMs) / 4))),
    },
    app,
  );
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  server.maxConnections = settings.maxConnections;
  return server;
}
