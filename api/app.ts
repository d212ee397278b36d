// The HTTP front door, composed: every route is thin (validate, call a use
// case, map the answer) and lives in its own module.
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import express from 'express';
import type { ActivityBudgets } from '../domain/checkout';
import type { Pool } from '../db/pool';
import { HttpError } from '../errors';
import type { Logger } from '../logger';
import { authenticateRequests } from './auth/authenticate';
import { createFailureThrottle } from './auth/failure-throttle';
import { dbGate } from './db-gate';
import type { DbAdmission } from './db-guard';
import { checkoutRoute } from './checkout/route';
import type { RecordedOutcomeSource } from './checkout/use-case';
import { errorAnswer } from './error-answer';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { buildOpenApiDocument } from './openapi/document';
import { requestContext } from './request-context';
import { rejectUnstorableUrlText } from './request-text';
import { requireJson } from './require-json';
import { codecCors, codecRoutes } from './routes/codec';
import { docsRoutes } from './routes/docs';
import { healthRoutes } from './routes/health';
import { paymentRoutes } from './routes/payments';
import { reconciliationRoutes } from './routes/reconciliation';
import { createWebhookRoutes, type CheckWebhookTarget } from './routes/webhooks';

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
  /** Webhooks: how long an endpoint's old secret keeps signing after a rotation; default 24 h. */
  webhookSecretRotationGraceMs?: number;
  /** Webhooks: whether an endpoint URL may be registered (outbound/webhook-target.ts). */
  checkWebhookTarget: CheckWebhookTarget;
  /** Webhooks: endpoints per merchant (default 16) and redeliveries per merchant per minute (default 60). */
  webhookLimits?: { maxEndpointsPerMerchant?: number; redeliveriesPerMinute?: number };
  /** API keys are checked against HMACs made with this pepper. */
  apiKeyPepper: string;
  /** failed authentications per client address per minute before 429; default 20 */
  authFailuresPerMinute?: number;
  /** new checkouts per API key per minute, whatever customer_id says; omitted: unlimited */
  keyRateLimitPerMinute?: number;
  /** hops of X-Forwarded-For to trust for the client's address (behind nginx: 1); default 0 */
  trustProxyHops?: number;
  /** served on the metrics port (buildApi), not here */
  metrics?: ApiMetrics;
  /** Start checkouts eagerly on a checkout worker in this process (API_EAGER_START). */
  eagerStart?: boolean;
  /** Outcomes that worker records, heard as they commit (API_RESULT_WAIT=recording). */
  recordedOutcomes?: RecordedOutcomeSource;
  /** What the CustomerId search attribute holds for a customer id (its keyed hash). */
  customerSearchValue: (customerId: string) => string;
  /** The workers' payload codec, for the Web UI's codec endpoint (/codec). */
  payloadCodec: PayloadCodec;
  /** The Web UI origins CORS answers on /codec. */
  codecCorsOrigins: readonly string[];
  /** The database breaker (DB_BREAKER): requests behind a key are refused at once while it is not closed. */
  dbGuard?: { admit(): DbAdmission };
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  const metrics = deps.metrics ?? createApiMetrics();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxyHops ?? 0);
  // first: every answer (a 404, an error, /healthz) carries its X-Request-Id, and every log line of the request its id and trace
  app.use(requestContext());
  // the api's budget counts from here: waiting for authentication is part of it
  app.use((_req, res, next) => {
    res.locals.receivedAt = Date.now();
    next();
  });
  app.use(metrics.recordRequests);
  // a path that does not decode, or a NUL in a path or query: 400 before any route reads it
  app.use(rejectUnstorableUrlText);
  // open to all: what load balancers and orchestrators probe
  app.use(healthRoutes({ client: deps.client, pool: deps.pool, logger: deps.logger }));
  app.use(docsRoutes({ document: buildOpenApiDocument() }));
  // the codec's preflight, which a browser sends without a key, and its CORS headers
  app.use(codecCors(deps.codecCorsOrigins));
  // everything below needs the database (the key is looked up there): not while its breaker is open
  if (deps.dbGuard) app.use(dbGate(deps.dbGuard, () => metrics.dbBreakerRefusals.inc()));
  // everything below needs a key
  app.use(
    authenticateRequests({ pool: deps.pool, pepper: deps.apiKeyPepper, throttle: createFailureThrottle(deps.authFailuresPerMinute ?? 20) }),
  );
  app.use(requireJson);
  app.use(checkoutRoute({ ...deps, metrics }));
  app.use(paymentRoutes({ pool: deps.pool }));
  app.use(reconciliationRoutes({ pool: deps.pool }));
  app.use(codecRoutes(deps.payloadCodec));
  app.use(
    createWebhookRoutes({
      pool: deps.pool,
      client: deps.client,
      taskQueue: deps.taskQueue,
      checkTarget: deps.checkWebhookTarget,
      secretRotationGraceMs: deps.webhookSecretRotationGraceMs,
      ...deps.webhookLimits,
    }),
  );
  app.use((_req, _res, next) => {
    next(new HttpError(404, 'not_found', 'no such route'));
  });
  app.use(errorAnswer(deps.logger, metrics));
  return app;
}
