// Slow clients (a slowloris on the body): 300 connections each send a checkout's
// headers and then one byte of body now and then, for as long as the server
// lets them, and reconnect when it cuts them. Real checkouts through the bundled
// client go on meanwhile and must keep getting 201 within the api budget: a
// checkout counts against MAX_IN_FLIGHT_CHECKOUTS only once its body is in, and
// the api's server drops a request whose body has not arrived within
// API_REQUEST_TIMEOUT_MS (docs/design.md, "Front door protection").
//
// The attacker is exported: test/integration/front-door-hardening.test.ts runs
// the same attack against an api in the test process.
import crypto from 'node:crypto';
import net from 'node:net';
import { createCheckoutClient, type AttemptEvent } from '../../client/checkout-client';
import { loadApiConfig } from '../../config';
import type { Drill } from '../drill';
import { drive, logicalCheckouts, percentile } from '../load';

export interface SlowBodyAttackOptions {
  /** Connections kept open at once. */
  connections: number;
  /** Each connection sends one byte of body this often. */
  byteEveryMs: number;
  /** Bound on connections opened in all (the first ones and every reconnect). */
  maxOpens: number;
  /** The declared body length: far more than will ever be sent. */
  contentLength?: number;
  /**
   * Sent as the Bearer key of every request: an attacker holding a key is the
   * hard case, whose bodies the api must wait for. Omitted: no key, and the api
   * answers 401 after the headers (and throttles the address).
   */
  apiKey?: string;
}

export interface SlowBodyStats {
  /** Connections opened in all. */
  opened: number;
  /** The most that were open at one time. */
  peakOpen: number;
  /** Connections the server closed (any reason) while the attack ran. */
  closedByServer: number;
  /** What the server answered before closing, by status line ("408", "503", ...; "none" when it just closed). */
  answers: Record<string, number>;
  /** How long each connection the server closed had lived, ms. */
  lifetimesMs: number[];
  /** Connections still open when the attack stopped, and how long the oldest of them had lived. */
  openAtStop: number;
  oldestAtStopMs: number;
}

export interface SlowBodyAttack {
  /** Connections open now. */
  openNow(): number;
  /** Closes every connection it opened and says what happened. */
  stop(): SlowBodyStats;
}

/**
 * Opens `connections` connections to `apiUrl` (loopback only) that each send
 * the headers of a POST /checkout and then trickle its body, one byte every
 * `byteEveryMs`, and reopens each one the server closes, up to `maxOpens` in all.
 */
export function startSlowBodyAttack(apiUrl: string, options: SlowBodyAttackOptions): SlowBodyAttack {
  const url = new URL(apiUrl);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`the slow-body attack only targets loopback, not ${url.hostname}`);
  const host = url.hostname === '[::1]' ? '::1' : url.hostname;
  const port = Number(url.port);
  const contentLength = options.contentLength ?? 4_096;
  const run = crypto.randomUUID().slice(0, 8);
  const authorization = options.apiKey === undefined ? '' : `Authorization: Bearer ${options.apiKey}\r\n`;
  const stats: SlowBodyStats = { opened: 0, peakOpen: 0, closedByServer: 0, answers: {}, lifetimesMs: [], openAtStop: 0, oldestAtStopMs: 0 };
  const open = new Map<net.Socket, { openedAt: number; timer?: NodeJS.Timeout }>();
  let stopping = false;

  const openOne = () => {
    if (stopping || stats.opened >= options.maxOpens) return;
    stats.opened += 1;
    const n = stats.opened;
    const socket = net.connect({ host, port });
    const entry: { openedAt: number; timer?: NodeJS.Timeout } = { openedAt: performance.now() };
    open.set(socket, entry);
    stats.peakOpen = Math.max(stats.peakOpen, open.size);
    let answer = 'none';
    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.write(
        `POST /checkout HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n${authorization}` +
          `Idempotency-Key: slow-${run}-${n}\r\nContent-Length: ${contentLength}\r\n\r\n{`,
      );
      // the first trickled byte at a random point of the period, so the writes spread out
      const trickle = () => {
        if (!socket.destroyed) socket.write(' ');
      };
      entry.timer = setTimeout(() => {
        trickle();
        entry.timer = setInterval(trickle, options.byteEveryMs);
      }, Math.random() * options.byteEveryMs);
    });
    socket.on('data', (chunk: Buffer) => {
      if (answer === 'none') answer = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 'other';
    });
    socket.on('error', () => undefined); // a reset is how a server may cut us; 'close' follows
    socket.on('close', () => {
      clearTimeout(entry.timer);
      clearInterval(entry.timer);
      open.delete(socket);
      if (stopping) return;
      stats.closedByServer += 1;
      stats.answers[answer] = (stats.answers[answer] ?? 0) + 1;
      stats.lifetimesMs.push(performance.now() - entry.openedAt);
      openOne();
    });
  };

  for (let i = 0; i < options.connections; i += 1) openOne();
  return {
    openNow: () => open.size,
    stop() {
      stopping = true;
      const now = performance.now();
      stats.openAtStop = open.size;
      for (const [socket, entry] of open) {
        stats.oldestAtStopMs = Math.max(stats.oldestAtStopMs, now - entry.openedAt);
        clearTimeout(entry.timer);
        clearInterval(entry.timer);
        socket.destroy();
      }
      open.clear();
      return stats;
    },
  };
}

const SLOW_CONNECTIONS = 300;
const API_LIMIT_MS = 3_000 + 500; // the api budget plus a margin for the trip
const WARM_UP = 5;

export const slowClients: Drill = {
  name: 'slow-clients',
  summary: '300 connections trickling their bodies: real checkouts still 201 within 3 s, slow requests cut after API_REQUEST_TIMEOUT_MS',
  fullDuration: 'about 2 min',
  async run({ short, log, startStack }) {
    // the production bound on checkouts in flight (the drill stack's default lifts it)
    const maxInFlight = 200;
    const stack = await startStack({ env: { MAX_IN_FLIGHT_CHECKOUTS: String(maxInFlight) } });
    const server = loadApiConfig({}).server; // the drill stack's api runs with the defaults
    const attackMs = short ? 20_000 : 90_000;
    const ratePerS = short ? 2 : 4;
    const n = Math.floor((attackMs / 1000 - 3) * ratePerS);

    await drive(stack, logicalCheckouts(WARM_UP, 'slow-clients-warmup'), { concurrency: WARM_UP, log });
    log(`opening ${SLOW_CONNECTIONS} slow-body connections (one byte a second) for ${attackMs / 1000} s; MAX_IN_FLIGHT_CHECKOUTS ${maxInFlight}`);
    const attack = startSlowBodyAttack(stack.apiUrl, {
      apiKey: stack.apiKey,
      connections: SLOW_CONNECTIONS,
      byteEveryMs: 1_000,
      // every connection may be cut and reopened once per request timeout, with room to spare
      maxOpens: SLOW_CONNECTIONS * (2 + Math.ceil(attackMs / server.requestTimeoutMs) * 2),
    });
    const attackStarted = Date.now();
    const openSamples: number[] = [];
    const sampler = setInterval(() => openSamples.push(attack.openNow()), 250);

    // real checkouts through the bundled client, spaced out, while the attack holds its connections
    await new Promise((r) => setTimeout(r, 2_000));
    log(`${attack.openNow()} slow connections open; sending ${n} checkouts at ${ratePerS}/s through the bundled client`);
    // each POST's time: from its send (the call, or the end of the wait before a retry) to its answer
    const nextSendAt = new Map<string, number>();
    const posts: Array<{ httpStatus?: number; error?: string; ms: number }> = [];
    const onAttempt = (event: AttemptEvent) => {
      if (event.kind !== 'checkout') return;
      const now = performance.now();
      posts.push({ httpStatus: event.httpStatus, error: event.error, ms: now - (nextSendAt.get(event.idempotencyKey) ?? now) });
      nextSendAt.set(event.idempotencyKey, now + (event.nextDelayMs ?? 0));
    };
    const client = createCheckoutClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey, maxAttempts: 3, totalTimeoutMs: 15_000, requestTimeoutMs: 10_000, onAttempt });
    const items = logicalCheckouts(n, 'slow-clients');
    const outcomes = await Promise.all(
      items.map(async (item, i) => {
        await new Promise((r) => setTimeout(r, (i * 1000) / ratePerS));
        nextSendAt.set(item.key, performance.now());
        try {
          const result = await client.checkout(item.request, { idempotencyKey: item.key });
          return { status: result.status as string, httpStatus: result.httpStatus, attempts: result.attempts };
        } catch (err) {
          return { status: `gave up: ${(err as Error).message}`, httpStatus: 0, attempts: 0 };
        }
      }),
    );
    const remaining = attackMs - (Date.now() - attackStarted);
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    clearInterval(sampler);
    const slow = attack.stop();
    log(`attack stopped: ${slow.opened} slow connections opened, ${slow.closedByServer} cut by the server ${JSON.stringify(slow.answers)}`);

    await stack.waitUntilSettled(60_000);
    const stats = await stack.stubStats();
    const completed = Number((await stack.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE status = 'completed'`)).rows[0]?.n);

    const statuses: Record<string, number> = {};
    for (const p of posts) {
      const label = p.httpStatus !== undefined ? String(p.httpStatus) : (p.error ?? 'no answer');
      statuses[label] = (statuses[label] ?? 0) + 1;
    }
    const latencies = posts.map((p) => p.ms);
    const sampled = openSamples.slice(Math.floor(2_000 / 250)); // after the first two seconds
    const failures: string[] = [];
    const not201 = posts.filter((p) => p.httpStatus !== 201);
    if (not201.length > 0) failures.push(`${not201.length} of ${posts.length} checkout answers were not 201: ${JSON.stringify(statuses)}`);
    const late = posts.filter((p) => p.ms > API_LIMIT_MS);
    if (late.length > 0) failures.push(`${late.length} checkout answers took over ${API_LIMIT_MS} ms (worst ${Math.max(...latencies).toFixed(0)} ms)`);
    const notCompleted = outcomes.filter((o) => o.status !== 'completed');
    if (notCompleted.length > 0) failures.push(`${notCompleted.length} checkouts did not complete: ${notCompleted[0]?.status}`);
    if (slow.peakOpen < SLOW_CONNECTIONS) failures.push(`only ${slow.peakOpen} slow connections were open at once, not ${SLOW_CONNECTIONS}`);
    // the server must cut a request whose body has not arrived (plus its once-a-second check and a margin)
    const cutLimitMs = server.requestTimeoutMs + 2_000;
    const oldest = Math.max(slow.oldestAtStopMs, ...slow.lifetimesMs);
    if (oldest > cutLimitMs) failures.push(`a slow connection lived ${(oldest / 1000).toFixed(1)} s (the api must cut it within ${cutLimitMs / 1000} s)`);
    if (stats.charges_applied !== n + WARM_UP) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n + WARM_UP}`);
    if (completed !== n + WARM_UP) failures.push(`${completed} payments completed, expected ${n + WARM_UP}`);
    return {
      rows: [
        ['slow-body connections (held open, 1 byte/s)', `${SLOW_CONNECTIONS}, peak ${slow.peakOpen}, median open ${percentile(sampled, 50)}, min open ${Math.min(...sampled)}`],
        ['slow connections opened / cut by the api', `${slow.opened} / ${slow.closedByServer} ${JSON.stringify(slow.answers)}`],
        [
          'slow connection lifetime p50 (of those cut) / worst',
          `${slow.lifetimesMs.length > 0 ? (percentile(slow.lifetimesMs, 50) / 1000).toFixed(1) : 'none cut'} / ${(oldest / 1000).toFixed(1)} s (API_REQUEST_TIMEOUT_MS ${server.requestTimeoutMs})`,
        ],
        [`checkouts through the bundled client (${ratePerS}/s, after ${WARM_UP} to warm up)`, n],
        ['checkout answers', JSON.stringify(statuses)],
        ['answer latency p50 / p99 / worst', `${percentile(latencies, 50).toFixed(0)} / ${percentile(latencies, 99).toFixed(0)} / ${Math.max(...latencies).toFixed(0)} ms (limit ${API_LIMIT_MS})`],
        ['stub charges applied / payments completed (with the warm-up)', `${stats.charges_applied} / ${completed}`],
      ],
      failures,
    };
  },
};
