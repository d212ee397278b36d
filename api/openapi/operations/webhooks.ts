// Webhook endpoints and deliveries (api/routes/webhooks.ts): the request
// schemas are the ones the routes parse with.
import { adminListDeliveriesSchema, createEndpointSchema, listDeliveriesSchema } from '../../routes/webhooks';
import {
  adminWebhookDeliveryListSchema,
  webhookDeliveryListSchema,
  webhookDeliverySchema,
  webhookEndpointListSchema,
  webhookEndpointSchema,
  webhookEndpointWithSecretSchema,
} from '../bodies';
import type { Answer, Operation } from '../operation';

const endpoint = {
  id: 'we_4f1d2a9b8c7e6d5f4a3b2c1d',
  url: 'https://shop.example.com/hooks/checkout',
  events: ['payment.completed', 'payment.failed'],
  status: 'active',
  disabled_reason: null,
  previous_secret_expires_at: null,
  created_at: '2025-05-01T12:00:00.000Z',
};
const secret = 'whsec_Zm9yIGV4YW1wbGUgb25seSwgbm90IGEga2V5';
const delivery = {
  id: 'whd_0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f',
  event_id: 'evt_1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d',
  endpoint_id: endpoint.id,
  status: 'dead',
  attempts: 8,
  last_status_code: 500,
  last_error: 'the endpoint answered 500',
  next_attempt_at: null,
  delivered_at: null,
  redeliveries: 0,
  created_at: '2025-05-01T12:00:00.500Z',
};
const listed = { ...delivery, event_type: 'payment.completed', payment_id: 'pay_5b8e2c0f4d7a4e21a1f3c9d6b2e8a704' };

const endpointId = { endpoint_id: { description: 'as POST /webhook-endpoints answered it', example: endpoint.id } };
const noEndpoint: Answer = { description: "No such endpoint for this merchant (or deleted; another merchant's answers the same)", errors: ['not_found'] };
const listQuery = {
  status: 'only deliveries in this status',
  endpoint_id: "only this endpoint's deliveries",
  limit: 'at most this many, newest first',
};

export const webhookOperations: Operation[] = [
  {
    method: 'post',
    path: '/webhook-endpoints',
    operationId: 'createWebhookEndpoint',
    tag: 'Webhooks',
    summary: 'Register an endpoint for payment events',
    description:
      'The URL must be http(s) without credentials, and must not resolve to a private, loopback, link-local or metadata address. ' +
      'The answer carries the signing `secret` (Standard Webhooks), shown only here and on rotation.',
    access: 'merchant',
    body: {
      schema: createEndpointSchema,
      description: 'The URL to send to and the event types it wants (each at most once).',
      example: { url: endpoint.url, events: endpoint.events },
    },
    answers: {
      201: { description: 'Registered, with its secret', body: webhookEndpointWithSecretSchema, example: { ...endpoint, secret } },
      400: {
        description: 'A field is invalid, or the URL may not be registered (`field: url`)',
        errors: ['invalid_request'],
        example: { error: { code: 'invalid_request', message: 'url: must be an http or https URL', field: 'url' } },
      },
      409: { description: 'The merchant has as many endpoints as it may (WEBHOOK_MAX_ENDPOINTS_PER_MERCHANT)', errors: ['endpoint_limit_reached'] },
    },
  },
  {
    method: 'get',
    path: '/webhook-endpoints',
    operationId: 'listWebhookEndpoints',
    tag: 'Webhooks',
    summary: "The merchant's endpoints that are not deleted, never with a secret",
    access: 'merchant',
    answers: { 200: { description: 'The endpoints', body: webhookEndpointListSchema, example: { data: [endpoint] } } },
  },
  {
    method: 'get',
    path: '/webhook-endpoints/{endpoint_id}',
    operationId: 'getWebhookEndpoint',
    tag: 'Webhooks',
    summary: 'One endpoint, without its secret',
    access: 'merchant',
    pathParams: endpointId,
    answers: { 200: { description: 'The endpoint', body: webhookEndpointSchema, example: endpoint }, 404: noEndpoint },
  },
  {
    method: 'post',
    path: '/webhook-endpoints/{endpoint_id}/disable',
    operationId: 'disableWebhookEndpoint',
    tag: 'Webhooks',
    summary: 'Stop sending to an endpoint; its pending deliveries end as cancelled',
    description: 'A write: send `Content-Type: application/json`, even without a body.',
    access: 'merchant',
    pathParams: endpointId,
    answers: {
      200: {
        description: 'The endpoint, disabled',
        body: webhookEndpointSchema,
        example: { ...endpoint, status: 'disabled', disabled_reason: 'disabled through the api' },
      },
      404: noEndpoint,
    },
  },
  {
    method: 'delete',
    path: '/webhook-endpoints/{endpoint_id}',
    operationId: 'deleteWebhookEndpoint',
    tag: 'Webhooks',
    summary: 'Delete an endpoint (soft: its deliveries stay listed)',
    description: 'A write: send `Content-Type: application/json`, even without a body.',
    access: 'merchant',
    pathParams: endpointId,
    answers: { 204: { description: 'Deleted; no body', mediaType: 'none' }, 404: noEndpoint },
  },
  {
    method: 'post',
    path: '/webhook-endpoints/{endpoint_id}/rotate-secret',
    operationId: 'rotateWebhookSecret',
    tag: 'Webhooks',
    summary: 'A new signing secret; the old ones keep signing for WEBHOOK_SECRET_ROTATION_GRACE_MS (24 h)',
    description:
      'A write: send `Content-Type: application/json`, even without a body. With an Idempotency-Key, a retried rotation answers the same secret; ' +
      'without one, a retry makes another secret but retires none early.',
    access: 'merchant',
    pathParams: endpointId,
    idempotencyKey: { required: false, description: 'Optional, 1-255 visible ASCII characters; the same key answers the same rotation.' },
    answers: {
      200: {
        description: 'The endpoint with its new secret; `previous_secret_expires_at` says until when the old one signs',
        body: webhookEndpointWithSecretSchema,
        headers: { 'Idempotent-Replayed': 'optional' },
        example: { ...endpoint, previous_secret_expires_at: '2025-05-02T12:00:00.000Z', secret },
      },
      400: { description: 'The Idempotency-Key is invalid', errors: ['invalid_idempotency_key'] },
      404: noEndpoint,
      409: { description: 'Too many of its secrets still sign', errors: ['too_many_live_secrets'] },
      422: { description: 'The Idempotency-Key rotated another endpoint', errors: ['idempotency_key_reused'] },
    },
  },
  {
    method: 'get',
    path: '/webhook-deliveries',
    operationId: 'listWebhookDeliveries',
    tag: 'Webhooks',
    summary: "The merchant's deliveries, with attempts, last status and error",
    description: 'Unknown query parameters are refused (400).',
    access: 'merchant',
    query: { schema: listDeliveriesSchema, descriptions: listQuery },
    answers: {
      200: { description: 'The deliveries, newest first', body: webhookDeliveryListSchema, example: { data: [listed] } },
      400: { description: 'A query parameter is invalid', errors: ['invalid_request'] },
    },
  },
  {
    method: 'post',
    path: '/webhook-deliveries/{delivery_id}/redeliver',
    operationId: 'redeliverWebhook',
    tag: 'Webhooks',
    summary: 'Send a finished delivery (typically a dead letter) again, with the same webhook-id',
    description: 'A write: send `Content-Type: application/json`, even without a body. Two requests at once start one redelivery; the other gets 409.',
    access: 'merchant',
    pathParams: { delivery_id: { description: 'as GET /webhook-deliveries lists it', example: delivery.id } },
    answers: {
      202: { description: 'Taken: the delivery is pending again and a workflow sends it', body: webhookDeliverySchema, example: { ...delivery, status: 'pending' } },
      404: { description: "No such delivery for this merchant (another merchant's answers the same)", errors: ['not_found'] },
      409: { description: 'Still being attempted, or its endpoint is not active', errors: ['delivery_in_progress', 'endpoint_not_active'] },
      429: { description: 'Over WEBHOOK_REDELIVERIES_PER_MINUTE for this merchant', errors: ['rate_limited'], headers: { 'Retry-After': 'required' } },
      503: { description: 'Temporal did not take the workflow; the delivery is as it was, send the request again', errors: ['temporarily_unavailable'], headers: { 'Retry-After': 'required' } },
    },
  },
  {
    method: 'get',
    path: '/admin/webhook-deliveries',
    operationId: 'listWebhookDeliveriesOfAllMerchants',
    tag: 'Operators',
    summary: 'Deliveries across merchants (dead letters: ?status=dead), each naming its merchant',
    description: 'An admin key only. Unknown query parameters are refused (400).',
    access: 'admin',
    query: { schema: adminListDeliveriesSchema, descriptions: { ...listQuery, merchant_id: "only this merchant's deliveries" } },
    answers: {
      200: { description: 'The deliveries, newest first', body: adminWebhookDeliveryListSchema, example: { data: [{ ...listed, merchant_id: 'mer_7c1e0d' }] } },
      400: { description: 'A query parameter is invalid', errors: ['invalid_request'] },
    },
  },
];
