// The HTTP front door. Routes are thin: validate, call a use case, map the answer.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response } from 'express';
import { findPaymentById } from '../db/payments-store';
import type { Pool } from '../db/pool';
import type { Logger } from '../logger';
import type { ActivityBudgets } from '../shared';
import { createCheckout } from './checkout';
import { MAX_BODY_BYTES, parseCheckoutRequest, parseIdempotencyKey } from './checkout-schema';
import { checkReadiness } from './readiness';
import { reconciliationRoutes } from './reconciliation-routes';
import { HttpError } from './http-error';
import { createApiMetrics } from './metrics';
import { isDatabaseUnavailable } from './unavailable';
import { createWebhookRoutes } from './webhook-routes';

export interface ApiDeps {
  client: Client;
  pool: Pool;
  logger: Logger;
  taskQueue: string;
  apiBudgetMs: number;
  activityBudgets: ActivityBudgets;
  /** new checkouts per customer per minute, counted in Postgres so every instance agrees; omitted: unlimited */
  rateLimitPerMinute?: number;
  /** POST /checkout requests in flight on this instance; more are shed with 503 at once; omitted: unbounded */
  maxInFlightCheckouts?: number;
  /** Webhooks (issue 8): how long an endpoint's old secret keeps signing after a rotation; default 24 h. */
  webhookSecretRotationGraceMs?: number;
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  const metrics = createApiMetrics();
  const checkout = createCheckout(deps);
  app.disable('x-powered-by');
  app.use(metrics.recordRequests);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks = await checkReadiness(deps.client, deps.pool);
    res.status(checks.ready ? 200 : 503).json(checks);
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.post(
    '/checkout',
    shedOverLimit(deps.maxInFlightCheckouts),
    requireJson,
    express.json({ limit: MAX_BODY_BYTES, strict: false, type: () => true }),
    async (req: Request, res: Response) => {
      const deadline = Date.now() + deps.apiBudgetMs;
      const key = parseIdempotencyKey(req.header('Idempotency-Key'));
      const request = parseCheckoutRequest(req.body);
      const answer = await checkout(key, request, deadline);
      metrics.checkoutOutcomes.inc({ outcome: answer.outcome });
      if (answer.replayed) res.set('Idempotent-Replayed', 'true');
      res.set(answer.headers).status(answer.status).json(answer.body);
    },
  );

  app.get('/payments/:paymentId', async (req: Request<{ paymentId: string }>, res: Response) => {
    const row = await findPaymentById(deps.pool, req.params.paymentId);
    if (!row) throw new HttpError(404, 'not_found', `no payment ${req.params.paymentId}`);
    res.json({
      payment_id: row.payment_id,
      status: row.status,
      amount_cents: row.amount_cents,
      currency: row.currency,
      customer_id: row.customer_id,
      provider_charge_id: row.provider_charge_id,
      failure_code: row.failure_code,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    });
  });

  app.use(reconciliationRoutes({ pool: deps.pool }));

  app.use(
    createWebhookRoutes({ pool: deps.pool, client: deps.client, taskQueue: deps.taskQueue, secretRotationGraceMs: deps.webhookSecretRotationGraceMs }),
  );

  app.use((_req: Request, _res: Response, next: NextFunction) => {
    next(new HttpError(404, 'not_found', 'no such route'));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const answer = toHttpError(err);
    // a shed request is counted, not logged: under overload, logging each one would add to the load
    if (answer.status === 503 && answer.code !== 'overloaded') {
      deps.logger.warn({ err: (err as Error | undefined)?.message, path: req.path }, 'dependency unavailable; answered 503');
    } else if (answer.status >= 500 && answer.status !== 503) {
      deps.logger.error({ err, path: req.path }, 'request failed');
    }
    if (req.path === '/checkout') metrics.checkoutOutcomes.inc({ outcome: failedOutcome(answer) });
    res
      .set(answer.headers)
      .status(answer.status)
      .json({ error: { code: answer.code, message: answer.message, ...(answer.field ? { field: answer.field } : {}) } });
  });

  return app;
}

/**
 * Load shedding: past `max` checkouts in flight on this instance, answer 503
 * at once, before reading the body or touching Postgres or Temporal.
 */
function shedOverLimit(max: number | undefined) {
  let inFlight = 0;
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (max === undefined) {
      next();
      return;
    }
    if (inFlight >= max) {
      next(
        new HttpError(503, 'overloaded', 'too many checkouts in progress; retry shortly with the same Idempotency-Key', undefined, {
          'Retry-After': '1',
        }),
      );
      return;
    }
    inFlight += 1;
    let released = false;
    // 'close' comes once the answer is sent, or when the client goes away first
    res.once('close', () => {
      if (released) return;
      released = true;
      inFlight -= 1;
    });
    next();
  };
}

/** checkout_outcomes_total's label for an answer that is an error. */
function failedOutcome(answer: HttpError): string {
  if (answer.status === 422) return 'key_reused';
  if (answer.status === 429) return 'rate_limited';
  if (answer.status === 503) return answer.code === 'overloaded' ? 'shed' : 'unavailable';
  return answer.status < 500 ? 'invalid' : 'error';
}

function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    next(new HttpError(415, 'unsupported_media_type', 'the body must be JSON with Content-Type: application/json'));
    return;
  }
  next();
}

// body-parser errors carry a `type`; everything unknown is a 500 that says nothing internal.
function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (isDatabaseUnavailable(err)) {
    return new HttpError(503, 'temporarily_unavailable', 'the database is unavailable; retry shortly', undefined, { 'Retry-After': '1' });
  }
  const type = (err as { type?: string } | undefined)?.type;
  if (type === 'entity.too.large') return new HttpError(413, 'payload_too_large', `the body must be at most ${MAX_BODY_BYTES} bytes`);
  if (type === 'entity.parse.failed') return new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new HttpError(415, 'unsupported_media_type', 'the body must be UTF-8 JSON');
  }
  return new HttpError(500, 'internal_error', 'internal error');
}

export interface RunningApi {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on port (0 = any free port) and resolves once accepting connections. */
export async function startApiServer(deps: ApiDeps, port: number, host = '127.0.0.1'): Promise<RunningApi> {
  const server = http.createServer(createApp(deps));
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
