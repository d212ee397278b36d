// A small HTTP front for the cluster stack's apis, in the role nginx plays in
// docker-compose: each request goes to the next api in turn. An api whose
// /healthz stops answering (checked every second), or that refuses a
// connection, is skipped until it answers again, so one api dying costs no
// request. Only ever forwards to the given ports on 127.0.0.1.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinFrontOptions {
  /** where the front listens (127.0.0.1); 0: a free port */
  port: number;
  /** the apis' ports on 127.0.0.1 */
  targets: number[];
  /** how long an api may take to answer; omitted: 10 s, the edge budget of deploy/nginx.conf */
  timeoutMs?: number;
  healthIntervalMs?: number;
}

export interface RoundRobinFront {
  port: number;
  /** the targets that answered their last health check */
  healthy(): number[];
  stop(): Promise<void>;
}

/** Request bodies are read whole before forwarding (so a refused connection can try the next api): at most this much. */
const MAX_BODY_BYTES = 1024 * 1024;

export async function startRoundRobinFront(options: RoundRobinFrontOptions): Promise<RoundRobinFront> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const up = new Map(options.targets.map((port) => [port, true]));
  const agent = new http.Agent({ keepAlive: true });
  let next = 0;

  /** The targets to try for one request: the healthy ones from the next in turn, then the rest (all may be marked down wrongly). */
  const order = (): number[] => {
    const start = next++ % options.targets.length;
    const rotated = [...options.targets.slice(start), ...options.targets.slice(0, start)];
    return [...rotated.filter((p) => up.get(p)), ...rotated.filter((p) => !up.get(p))];
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return answer(res, 413, 'request body too large for the front');
      void forward(req, res, Buffer.concat(chunks), order());
    });
  });

  const forward = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, targets: number[]): Promise<void> => {
    for (const port of targets) {
      const sent = await tryTarget(port, req, res, body);
      if (sent) return;
      up.set(port, false); // refused: nothing reached it, so the next api may take the request
    }
    answer(res, 502, 'no api is reachable');
  };

  /** false when the api refused the connection (the request never reached it); otherwise the answer is relayed. */
  const tryTarget = (port: number, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<boolean> =>
    new Promise((resolve) => {
      const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '', 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const upstream = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent, timeout: timeoutMs }, (answerFromApi) => {
        res.writeHead(answerFromApi.statusCode ?? 502, answerFromApi.headers);
        answerFromApi.pipe(res);
        resolve(true);
      });
      upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') return resolve(false);
        // the request may have reached the api: not sent again (a retry is the client's, with its idempotency key)
        if (!res.headersSent) answer(res, err.message === 'timeout' ? 504 : 502, `the api on :${port} failed: ${err.message}`);
        else res.destroy();
        resolve(true);
      });
      upstream.end(body);
    });

  const check = async () => {
    for (const port of options.targets) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
        up.set(port, r.ok);
      } catch {
        up.set(port, false);
      }
    }
  };
  const timer = setInterval(() => void check(), options.healthIntervalMs ?? 1_000);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    healthy: () => options.targets.filter((p) => up.get(p)),
    stop: async () => {
      clearInterval(timer);
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answer(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: status === 504 ? 'upstream_timeout' : 'upstream_unavailable', message } }));
}
