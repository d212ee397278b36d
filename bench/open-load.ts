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

/** A request sent some other way than HTTP (the engine floor's workflow start): its key and an HTTP-like status. */
export type CallResult = { key: string; status: number };

export interface OpenLoadOptions {
  origin: string;
  /** sends the i-th request itself instead of an HTTP POST to origin (request is then unused) */
  call?: (i: number) => Promise<CallResult>;
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
  // no sockets when the requests are sent by call
  const pool = options.call ? undefined : new Pool(options.origin, {
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

  const post = async (req: LoadRequest): Promise<CallResult> => {
    if (!pool) throw new Error('no HTTP pool: the requests are sent by call');
    const res = await pool.request({ method: 'POST', path: req.path, headers: req.headers, body: req.body });
    await res.body.text();
    return { key: req.key, status: res.statusCode };
  };
  const send = (i: number) => {
    const scheduled = t0 + i * intervalMs;
    const req = options.call ? undefined : options.request(i);
    lags.push(performance.now() - scheduled);
    const answer = options.call ? withTimeout(options.call(i), options.timeoutMs) : post(req as LoadRequest);
    const done = answer
      .then(({ key, status }) => {
        samples.push({ key, scheduledMs: scheduled - t0, latencyMs: performance.now() - scheduled, status });
      })
      .catch((err: unknown) => {
        samples.push({ key: req?.key ?? String(i), scheduledMs: scheduled - t0, latencyMs: performance.now() - scheduled, status: 0, error: (err as Error).message });
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
  await pool?.close();
  lags.sort((a, b) => a - b);
  return { samples, sendLagP99Ms: lags[Math.ceil(lags.length * 0.99) - 1] ?? 0, elapsedMs };
}

/** The call's answer, or a failure after ms (as the HTTP path's headers and body timeouts). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
