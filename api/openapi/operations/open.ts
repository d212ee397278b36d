// The routes anyone may call, mounted before authentication in api/app.ts:
// health (api/routes/health.ts) and this documentation (api/routes/docs.ts).
import { docsPageSchema, healthSchema, openApiDocumentSchema, readinessSchema } from '../bodies';
import type { Operation } from '../operation';

export const openOperations: Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    tag: 'Health',
    summary: 'Liveness: the process runs; touches no dependency',
    access: 'open',
    answers: { 200: { description: 'Alive', body: healthSchema, example: { status: 'ok' } } },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    tag: 'Health',
    summary: 'Readiness: Temporal and Postgres each answered within 1 s',
    description: 'Says which dependency is unreachable, never why (that goes to the log).',
    access: 'open',
    answers: {
      200: { description: 'Ready', body: readinessSchema, example: { ready: true, temporal: 'ok', postgres: 'ok' } },
      503: { description: 'Not ready', body: readinessSchema, example: { ready: false, temporal: 'ok', postgres: 'unreachable' } },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    tag: 'Documentation',
    summary: 'This document (OpenAPI 3.1), built from the schemas that validate requests',
    access: 'open',
    answers: {
      200: { description: 'The document', body: openApiDocumentSchema, example: { openapi: '3.1.0', info: { title: 'Checkout API', version: '0.1.0' }, paths: {} } },
    },
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'getDocsPage',
    tag: 'Documentation',
    summary: 'This document as a page (Swagger UI, served from this process; works offline)',
    access: 'open',
    answers: {
      200: { description: 'The page', body: docsPageSchema, mediaType: 'text/html', example: '<!doctype html><html>...</html>' },
    },
  },
];
