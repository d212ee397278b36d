// A process's Prometheus endpoint on a port of its own, apart from the api's
// public port: metrics name routes, outcomes and internals that are not for
// callers of the api. Used by the api and the worker. With the Temporal SDK's
// exporter on loopback (worker/sdk-runtime.ts), each scrape appends its text,
// so one target per process shows both.
import http from 'node:http';
import client from 'prom-client';

/** A scrape never waits longer than this for the SDK's exporter; ours are served without it. */
const SDK_FETCH_TIMEOUT_MS = 1_000;

export interface ServeMetricsOptions {
  /** The SDK exporter's /metrics (SdkRuntime.metricsUrl). */
  sdkMetricsUrl?: string;
}

/** Serves GET /metrics; port 0 picks a free one. */
export async function serveMetrics(registry: client.Registry, port: number, host: string, options: ServeMetricsOptions = {}): Promise<http.Server> {
  const sdkText = options.sdkMetricsUrl ? sdkMetricsReader(registry, options.sdkMetricsUrl) : async () => '';
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    // the SDK's first, so a failed fetch is already counted in our text
    sdkText()
      .then(async (sdk) => `${await registry.metrics()}${sdk}`)
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** The SDK exporter's text, or '' (counted) when it fails or is late. */
function sdkMetricsReader(registry: client.Registry, url: string): () => Promise<string> {
  const errors = new client.Counter({
    name: 'sdk_metrics_fetch_errors_total',
    help: "Scrapes served without the Temporal SDK's metrics: its loopback exporter failed or took over 1 s",
    registers: [registry],
  });
  return async () => {
    try {
      const text = await httpGetText(url, SDK_FETCH_TIMEOUT_MS);
      return text === '' || text.endsWith('\n') ? text : `${text}\n`;
    } catch {
      errors.inc();
      return '';
    }
  };
}

/** A GET's body within timeoutMs, over node:http (not fetch: a scrape is no trace of anything). */
function httpGetText(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`answered ${res.statusCode}`));
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
      res.on('close', () => reject(new Error('the answer was cut short'))); // no-op after 'end'
    });
    req.on('error', reject);
  });
}
