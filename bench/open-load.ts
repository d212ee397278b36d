// An open-model load generator: requests leave at a fixed arrival rate
// whatever the server does, and each latency is measured from the request's
// SCHEDULED send time. A closed-model tool (autocannon: N connections, each
// sends its next request only when the previous answer arrives) slows down
// with the server and never sends the requests a stall should have delayed,
// so it under-reports tail latency (coordinated omission). k6's
// constant-arrival-rate executor would do, but it cannot be fetched here.
import { Pool } from 'undici';

export interface LoadRequest {
  /** what the sample is filed under (the Idempotency-Key) */
  key: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Sample {
  key: string;
  /** ms since the phase started at which the request was due */
  scheduledMs: number;
  /** from the scheduled time to the last byte of the answer */
  latencyMs: number;
  /** the HTTP status, or 0 when no answer came (timeout, connection error) */
  status: number;
  error?: string;
}

export interface OpenLoadOptions {
  origin: string;
  ratePerSecond: number;
  durationMs: number;
  /** builds the i-th request */
  request: (i: number) => LoadRequest;
  /** every request gives up after this (headers and body) */
  timeoutMs: number;
  /** sockets to the server; enough that rate x latency never waits for one */
  connections?: number;
}

export interface OpenLoadResult {
  samples: Sample[];
  /** how late the generator itself sent requests (ms, p99): above a few ms the generator, not the server, is the limit */
  sendLagP99Ms: number;
  elapsedMs: number;
}

export async function runOpenLoad(options: OpenLoadOptions): Promise<OpenLoadResult> {
  const pool = new Pool(options.origin, {
    connections: options.connections ?? 256,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connect: { timeout: Math.min(options.timeoutMs, 2_000) },
  });
  const total = Math.max(1, Math.round((options.ratePerSecond * options.durationMs) / 1000));
  const intervalMs = 1000 / options.ratePerSecond;
  const samples: Sample[] = [];
  const lags: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();

  const send = (i: number) => {
    const scheduled = t0 + i * intervalMs;
    const req = options.request(i);
    lags.push(performance.now() - scheduled);
    const done = pool
      .request({ method: 'POST', path: req.path, headers: req.headers, body: req.body })
      .then(async (res) => {
        await res.body.text();
        samples.push({ key: req.key, scheduledMs: scheduled - t0, latencyMs: performance.now() - scheduled, status: res.statusCode });
      })
      .catch((err: unknown) => {
        samples.push({ key: req.key, scheduledMs: scheduled - t0, latencyMs: performance.now() - scheduled, status: 0, error: (err as Error).message });
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // send everything already due, so a late timer does not lower the rate
      while (next < total && t0 + next * intervalMs <= now) send(next++);
      if (next >= total) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, t0 + next * intervalMs - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsedMs = performance.now() - t0;
  await pool.close();
  lags.sort((a, b) => a - b);
  return { samples, sendLagP99Ms: lags[Math.ceil(lags.length * 0.99) - 1] ?? 0, elapsedMs };
}
