// Webhook endpoints and deliveries over HTTP. Thin routes: validate
// with zod, call the store, map the answer. A secret is shown once, when it is
// made (creation, rotation); no other answer carries one.
//
// Every merchant route acts on the caller's merchant's rows only: another
// merchant's endpoint or delivery is a 404 worded like a missing one, so an
// answer never tells that it exists. Operators (admin keys) list deliveries
// across merchants on /admin/webhook-deliveries.
import type { Client } from '@temporalio/client';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { startDeliveryWorkflow } from '../../workflow-starts/webhook-delivery';
import { webhookTaskQueue } from '../../domain/webhooks';
import type { Pool } from '../../db/pool';
import {
  claimRedelivery,
  listDeliveries,
  listDeliveriesOfAllMerchants,
  releaseRedelivery,
  WEBHOOK_DELIVERY_STATUSES,
  type ListedDelivery,
  type WebhookDeliveryRow,
} from '../../db/webhooks-deliveries';
import {
  deleteEndpoint,
  disableEndpoint,
  findEndpoint,
  insertEndpointWithinLimit,
  listEndpoints,
  MAX_LIVE_SECRETS,
  newEndpointId,
  newWebhookSecret,
  rotateEndpointSecret,
  type WebhookEndpointRow,
} from '../../db/webhooks-endpoints';
import { WEBHOOK_EVENT_TYPES } from '../../db/webhooks-events';
import { HttpError } from '../../errors';
import { merchantOf, requireAdmin } from '../auth/authenticate';
import { idempotencyKeySchema } from '../checkout/schema';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../request-text';

/** Whether a URL may be registered (outbound/webhook-target.ts), and if not, why. */
export type CheckWebhookTarget = (url: string) => Promise<{ ok: true } | { ok: false; reason: string }>;

export interface WebhookRoutesDeps {
  pool: Pool;
  client: Client;
  /** The checkout task queue; deliveries run on webhookTaskQueue() of it. */
  taskQueue: string;
  /** Refuses credentials, other schemes and internal addresses at registration. */
  checkTarget: CheckWebhookTarget;
  /** How long a retired secret keeps signing after a rotation; default 24 h. */
  secretRotationGraceMs?: number;
  /** Endpoints a merchant may have, deleted ones not counted; default 16. */
  maxEndpointsPerMerchant?: number;
  /** Redeliveries a merchant may ask for per minute; default 60. */
  redeliveriesPerMinute?: number;
}

const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;
const DEFAULT_MAX_ENDPOINTS = 16;
const DEFAULT_REDELIVERIES_PER_MINUTE = 60;

export const createEndpointSchema = z.strictObject({
  url: z
    .string()
    .max(2_048)
    .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE)
    .refine((value) => URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol), 'must be an http or https URL'),
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES))
    .min(1)
    .refine((events) => new Set(events).size === events.length, 'must not repeat an event type'),
});

export const listDeliveriesSchema = z.strictObject({
  status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional(),
  endpoint_id: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});

export const adminListDeliveriesSchema = listDeliveriesSchema.extend({
  merchant_id: z.string().min(1).max(64).optional(),
});

function parse<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.code === 'unrecognized_keys' ? issue.keys[0] : issue?.path.join('.') || undefined;
  const message = issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : `${field ?? where}: ${issue?.message}`;
  throw new HttpError(400, 'invalid_request', message, field);
}

/** The optional Idempotency-Key of a rotation: absent, or a key as /checkout takes it. */
function optionalIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parsed = idempotencyKeySchema.safeParse(header);
  if (!parsed.success) {
    throw new HttpError(400, 'invalid_idempotency_key', `Idempotency-Key ${parsed.error.issues[0]?.message}`, 'Idempotency-Key');
  }
  return parsed.data;
}

function endpointJson(row: WebhookEndpointRow) {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    status: row.status,
    disabled_reason: row.disabled_reason,
    previous_secret_expires_at: row.previous_secret_expires_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}

function deliveryJson(row: WebhookDeliveryRow & Partial<Pick<ListedDelivery, 'event_type' | 'payment_id'>>) {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    payment_id: row.payment_id,
    endpoint_id: row.endpoint_id,
    status: row.status,
    attempts: row.attempts,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    next_attempt_at: row.next_attempt_at?.toISOString() ?? null,
    delivered_at: row.delivered_at?.toISOString() ?? null,
    redeliveries: row.redeliveries,
    created_at: row.created_at.toISOString(),
  };
}

const noEndpoint = (id: string) => new HttpError(404, 'not_found', `no webhook endpoint ${id}`);
const noDelivery = (id: string) => new HttpError(404, 'not_found', `no webhook delivery ${id}`);

export function createWebhookRoutes(deps: WebhookRoutesDeps): express.Router {
  const router = express.Router();
  // application/json only (require-json.ts has refused anything else); not
  // strict, so a body that is not an object gets the schema's 400
  const json = express.json({ limit: 16 * 1024, strict: false });
  const graceMs = deps.secretRotationGraceMs ?? DEFAULT_ROTATION_GRACE_MS;
  const maxEndpoints = deps.maxEndpointsPerMerchant ?? DEFAULT_MAX_ENDPOINTS;
  const redeliveriesPerMinute = deps.redeliveriesPerMinute ?? DEFAULT_REDELIVERIES_PER_MINUTE;

  router.post('/webhook-endpoints', json, async (req: Request, res: Response) => {
    const merchantId = merchantOf(res);
    const body = parse(createEndpointSchema, req.body, 'request body');
    // before anything is written: a refused URL leaves no row
    const target = await deps.checkTarget(body.url);
    if (!target.ok) throw new HttpError(400, 'invalid_request', `url: ${target.reason}`, 'url');
    const secret = newWebhookSecret();
    const created = await insertEndpointWithinLimit(deps.pool, { id: newEndpointId(), merchantId, url: body.url, events: body.events, secret }, maxEndpoints);
    if (created.kind === 'limit_reached') {
      throw new HttpError(409, 'endpoint_limit_reached', `a merchant may have at most ${created.limit} webhook endpoints; delete one first`);
    }
    res.status(201).json({ ...endpointJson(created.row), secret });
  });

  router.get('/webhook-endpoints', async (_req: Request, res: Response) => {
    res.json({ data: (await listEndpoints(deps.pool, merchantOf(res))).map(endpointJson) });
  });

  router.get('/webhook-endpoints/:id', async (req: Request<{ id: string }>, res: Response) => {
    const row = await findEndpoint(deps.pool, merchantOf(res), req.params.id);
    if (!row) throw noEndpoint(req.params.id);
    res.json(endpointJson(row));
  });

  router.post('/webhook-endpoints/:id/disable', async (req: Request<{ id: string }>, res: Response) => {
    const row = await disableEndpoint(deps.pool, merchantOf(res), req.params.id, 'disabled through the api');
    if (!row) throw noEndpoint(req.params.id);
    res.json(endpointJson(row));
  });

  router.delete('/webhook-endpoints/:id', async (req: Request<{ id: string }>, res: Response) => {
    if (!(await deleteEndpoint(deps.pool, merchantOf(res), req.params.id))) throw noEndpoint(req.params.id);
    res.status(204).end();
  });

  // The Idempotency-Key is optional: a retried rotation without one makes a
  // second secret, but retires none early (every secret keeps its own expiry).
  router.post('/webhook-endpoints/:id/rotate-secret', async (req: Request<{ id: string }>, res: Response) => {
    const merchantId = merchantOf(res);
    const idempotencyKey = optionalIdempotencyKey(req.header('idempotency-key'));
    const result = await rotateEndpointSecret(deps.pool, { merchantId, endpointId: req.params.id, newSecret: newWebhookSecret(), graceMs, idempotencyKey });
    switch (result.kind) {
      case 'not_found':
        throw noEndpoint(req.params.id);
      case 'key_reused':
        throw new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key was used to rotate another endpoint; use a new key', 'Idempotency-Key');
      case 'too_many_secrets':
        throw new HttpError(
          409,
          'too_many_live_secrets',
          `${result.live} secrets of this endpoint still sign (at most ${MAX_LIVE_SECRETS}); rotate again once previous_secret_expires_at has passed`,
        );
      case 'rotated':
      case 'replayed':
        if (result.kind === 'replayed') res.set('Idempotent-Replayed', 'true');
        res.json({ ...endpointJson(result.row), secret: result.secret });
    }
  });

  router.get('/webhook-deliveries', async (req: Request, res: Response) => {
    const merchantId = merchantOf(res);
    const query = parse(listDeliveriesSchema, req.query, 'query');
    const rows = await listDeliveries(deps.pool, merchantId, { status: query.status, endpointId: query.endpoint_id, limit: query.limit });
    res.json({ data: rows.map(deliveryJson) });
  });

  // Sends a finished delivery (typically a dead letter) again, with the same
  // webhook-id so the receiver can tell it from a new event, under a workflow of
  // its own. Taking the redelivery marks the delivery pending first, so two
  // requests at once start one workflow and the other gets 409.
  router.post('/webhook-deliveries/:id/redeliver', async (req: Request<{ id: string }>, res: Response) => {
    const result = await claimRedelivery(deps.pool, merchantOf(res), req.params.id, redeliveriesPerMinute);
    switch (result.kind) {
      case 'not_found':
        throw noDelivery(req.params.id);
      case 'in_progress':
        throw new HttpError(409, 'delivery_in_progress', 'the delivery is still being attempted; wait for it to finish');
      case 'endpoint_not_active':
        throw new HttpError(409, 'endpoint_not_active', `the delivery's endpoint is ${result.endpointStatus}`);
      case 'rate_limited': {
        const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
        throw new HttpError(429, 'rate_limited', `at most ${result.perMinute} redeliveries per minute; retry after ${retryAfter} s`, undefined, {
          'Retry-After': String(retryAfter),
        });
      }
      case 'claimed': {
        const { claim } = result;
        try {
          await startDeliveryWorkflow(deps.client, webhookTaskQueue(deps.taskQueue), claim.delivery, claim.redelivery);
        } catch {
          // put the delivery back as it was: the same request can simply be sent again
          await releaseRedelivery(deps.pool, claim);
          throw new HttpError(503, 'temporarily_unavailable', 'Temporal is unavailable; retry shortly', undefined, { 'Retry-After': '1' });
        }
        res.status(202).json(deliveryJson(claim.delivery));
      }
    }
  });

  // Operators: dead letters (or any status) across merchants, each row naming its merchant.
  router.get('/admin/webhook-deliveries', requireAdmin, async (req: Request, res: Response) => {
    const query = parse(adminListDeliveriesSchema, req.query, 'query');
    const rows = await listDeliveriesOfAllMerchants(deps.pool, {
      status: query.status,
      endpointId: query.endpoint_id,
      merchantId: query.merchant_id,
      limit: query.limit,
    });
    res.json({ data: rows.map((row) => ({ merchant_id: row.merchant_id, ...deliveryJson(row) })) });
  });

  return router;
}
