import { z } from 'zod';
import { ConfigError } from '../errors';
import { ms, parse } from './read';

// ---- the api's HTTP server: slow and idle clients (api/server.ts) ------------------------
// A slice of its own, read by loadApiConfig into ApiConfig.server; api/server.ts's
// listen() uses API_SERVER_DEFAULTS when given nothing. Node's defaults (60 s for
// headers, 300 s for a request, checked every 30 s, no connection cap) let a few
// hundred clients that trickle their bytes hold the api. Against the 3 s api and
// 10 s edge budgets:
//  - headers 3 s: headers come in one packet from any real client (nginx, the
//    bundled client); a connection silent that long is not a checkout.
//  - request 5 s, the whole request with its body (at most 16 KiB) from its first
//    byte: 5 s to arrive + the 3 s api budget = 8 s, inside the 10 s an edge
//    waits, so a request that arrives in time can still be answered in time.
//    Must stay below EDGE_BUDGET_MS, and headers must not exceed it (Node refuses).
//  - keep-alive 5 s: an idle connection is closed after that; longer than the
//    4 s after which undici (fetch, the bundled client) drops its idle
//    connections, so the client closes first and never reuses one being closed.
//  - connections 1,000: five times MAX_IN_FLIGHT_CHECKOUTS (200), room for 202
//    polls, probes and idle keep-alives, while bounding sockets and memory; a
//    connection past it is closed at once (the bundled client retries).
// The server checks the timeouts every second (or a quarter of the shorter one),
// so a request is cut at most that long after its timeout.
export const API_SERVER_DEFAULTS = {
  headersTimeoutMs: 3_000,
  requestTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_000,
} as const;

export const apiServerVars = {
  API_HEADERS_TIMEOUT_MS: ms(API_SERVER_DEFAULTS.headersTimeoutMs),
  API_REQUEST_TIMEOUT_MS: ms(API_SERVER_DEFAULTS.requestTimeoutMs),
  API_KEEP_ALIVE_TIMEOUT_MS: ms(API_SERVER_DEFAULTS.keepAliveTimeoutMs),
  API_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(API_SERVER_DEFAULTS.maxConnections),
};

/** Every variable of the api server group (loadApiConfig reads them). */
export const API_SERVER_VARIABLES: string[] = Object.keys(apiServerVars);

export interface ApiServerSettings {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export function apiServerOf(env: NodeJS.ProcessEnv, edgeBudgetMs: number): ApiServerSettings {
  const e = parse(z.object(apiServerVars), env);
  const problems: string[] = [];
  if (e.API_HEADERS_TIMEOUT_MS > e.API_REQUEST_TIMEOUT_MS) {
    problems.push(`API_HEADERS_TIMEOUT_MS (${e.API_HEADERS_TIMEOUT_MS}) must not exceed API_REQUEST_TIMEOUT_MS (${e.API_REQUEST_TIMEOUT_MS})`);
  }
  if (!(e.API_REQUEST_TIMEOUT_MS < edgeBudgetMs)) {
    problems.push(`API_REQUEST_TIMEOUT_MS (${e.API_REQUEST_TIMEOUT_MS}) must be less than EDGE_BUDGET_MS (${edgeBudgetMs})`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return {
    headersTimeoutMs: e.API_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: e.API_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: e.API_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: e.API_MAX_CONNECTIONS,
  };
}
