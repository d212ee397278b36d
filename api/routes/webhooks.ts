// Webhook endpoints and deliveries over HTTP. Thin routes: validate
// with zod, call the store, map the answer. A secret is shown once, when it is
// made (creation, rotation); no other answer carries one.
import type { Client } from '@temporalio/client';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { startDeliveryWorkflow } from '../../workflow-starts/webhook-delivery';
import { webhookTaskQueue } from '../../domain/webhooks';
import { newWebhookSecret } from '../../db/webhooks-endpoints';
import type { Pool } from '../../db/pool';
import { findDelivery, listDeliveries, noteRedelivery, WEBHOOK_DELIVERY_STATUSES, type WebhookDeliveryRow } from '../../db/webhooks-deliveries';
import {
  deleteEndpoint,
  disableEndpoint,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  newEndpointId,
  rotateEndpointSecret,
  type WebhookEndpointRow,
} from '../../db/webhooks-endpoints';
import { WEBHOOK_EVENT_TYPES } from '../../db/webhooks-events';
import { HttpError } from '../../errors';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../request-text';

export interface WebhookRoutesDeps {
  pool: Pool;
  client: Client;
  /** The checkout task queue; deliveries run on webhookTaskQueue() of it. */
  taskQueue: string;
  /** How long the old secret keeps signing after a rotation; default 24 h. */
  secretRotationGraceMs?: number;
}

const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

const createEndpointSchema = z.strictObject({
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

const listDeliveriesSchema = z.strictObject({
  status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional(),
  endpoint_id: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});

function parse<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.code === 'unrecognized_keys' ? issue.keys[0] : issue?.path.join('.') || undefined;
  const message = issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : `${field ?? where}: ${issue?.message}`;
  throw new HttpError(400, 'invalid_request', message, field);
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

function deliveryJson(row: WebhookDeliveryRow & { event_type?: string; payment_id?: string }) {
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

export function createWebhookRoutes(deps: WebhookRoutesDeps): express.Router {
  const router = express.Router();
  const json = express.json({ limit: 16 * 1024, strict: false, type: () => true });
  const graceMs = deps.secretRotationGraceMs ?? DEFAULT_ROTATION_GRACE_MS;

  async function existingEndpoint(id: string): Promise<WebhookEndpointRow> {
    const row = await findEndpoint(deps.pool, id);
    if (!row) throw new HttpError(404, 'not_found', `no webhook endpoint ${id}`);
    return row;
  }

  router.post('/webhook-endpoints', json, async (req: Request, res: Response) => {
    const body = parse(createEndpointSchema, req.body, 'request body');
    const secret = newWebhookSecret();
    const row = await insertEndpoint(deps.pool, { id: newEndpointId(), url: body.url, events: body.events, secret });
    res.status(201).json({ ...endpointJson(row), secret });
  });

  router.get('/webhook-endpoints', async (_req: Request, res: Response) => {
    res.json({ data: (await listEndpoints(deps.pool)).map(endpointJson) });
  });

  router.get('/webhook-endpoints/:id', async (req: Request<{ id: string }>, res: Response) => {
    res.json(endpointJson(await existingEndpoint(req.params.id)));
  });

  router.post('/webhook-endpoints/:id/disable', async (req: Request<{ id: string }>, res: Response) => {
    const row = await disableEndpoint(deps.pool, req.params.id, 'disabled through the api');
    if (!row) throw new HttpError(404, 'not_found', `no webhook endpoint ${req.params.id}`);
    res.json(endpointJson(row));
  });

  router.delete('/webhook-endpoints/:id', async (req: Request<{ id: string }>, res: Response) => {
    if (!(await deleteEndpoint(deps.pool, req.params.id))) throw new HttpError(404, 'not_found', `no webhook endpoint ${req.params.id}`);
    res.status(204).end();
  });

  router.post('/webhook-endpoints/:id/rotate-secret', async (req: Request<{ id: string }>, res: Response) => {
    const secret = newWebhookSecret();
    const row = await rotateEndpointSecret(deps.pool, req.params.id, secret, graceMs);
    if (!row) throw new HttpError(404, 'not_found', `no webhook endpoint ${req.params.id}`);
    res.json({ ...endpointJson(row), secret });
  });

  router.get('/webhook-deliveries', async (req: Request, res: Response) => {
    const query = parse(listDeliveriesSchema, req.query, 'query');
    const rows = await listDeliveries(deps.pool, { status: query.status, endpointId: query.endpoint_id, limit: query.limit });
    res.json({ data: rows.map(deliveryJson) });
  });

  // Sends a finished delivery (typically a dead letter) again, with the same
  // webhook-id so the receiver can tell it from a new event, under a workflow of
  // its own; two requests at once start one workflow.
  router.post('/webhook-deliveries/:id/redeliver', async (req: Request<{ id: string }>, res: Response) => {
    const delivery = await findDelivery(deps.pool, req.params.id);
    if (!delivery) throw new HttpError(404, 'not_found', `no webhook delivery ${req.params.id}`);
    if (delivery.status === 'pending') {
      throw new HttpError(409, 'delivery_in_progress', 'the delivery is still being attempted; wait for it to finish');
    }
    const endpoint = await findEndpoint(deps.pool, delivery.endpoint_id);
    if (endpoint?.status !== 'active') {
      throw new HttpError(409, 'endpoint_not_active', `endpoint ${delivery.endpoint_id} is ${endpoint?.status ?? 'deleted'}`);
    }
    const redelivery = delivery.redeliveries + 1;
    try {
      await startDeliveryWorkflow(deps.client, webhookTaskQueue(deps.taskQueue), delivery, redelivery);
    } catch {
      // nothing was changed: the same request can simply be sent again
      throw new HttpError(503, 'temporarily_unavailable', 'Temporal is unavailable; retry shortly', undefined, { 'Retry-After': '1' });
    }
    await noteRedelivery(deps.pool, delivery.id, redelivery);
    res.status(202).json({ ...deliveryJson({ ...delivery, redeliveries: redelivery }), status: 'pending' });
  });

  return router;
}
