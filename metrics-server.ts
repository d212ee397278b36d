// A process's Prometheus endpoint on a port of its own, apart from the api's
// public port: metrics name routes, outcomes and internals that are not for
// callers of the api. Used by the api and the worker.
import http from 'node:http';
import type client from 'prom-client';

/** Serves GET /metrics; port 0 picks a free one. */
export async function serveMetrics(registry: client.Registry, port: number, host: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
