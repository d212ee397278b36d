// The OpenAPI 3.1 document of the api, built from the zod schemas the routes
// validate with (and those of the answers, bodies.ts), so it cannot drift from
// the code; test/support/contract-check.ts holds the answers to it. Served
// at GET /openapi.json and shown at GET /docs (api/routes/docs.ts).
import type { z } from 'zod';
import { version } from '../../package.json';
import { idempotencyKeySchema } from '../checkout/schema';
import { errorBody } from './bodies';
import { allAnswers } from './common-answers';
import { NAMED_SCHEMAS } from './components';
import { ERROR_CODES } from './error-codes';
import { RESPONSE_HEADERS, type ResponseHeaderName } from './headers';
import { jsonSchemaOf, type JsonSchema } from './json-schema';
import type { Answer, Operation } from './operation';
import { checkoutOperations } from './operations/checkout';
import { codecOperations } from './operations/codec';
import { openOperations } from './operations/open';
import { paymentOperations } from './operations/payments';
import { reconciliationOperations } from './operations/reconciliation';
import { webhookOperations } from './operations/webhooks';

export const OPERATIONS: Operation[] = [...checkoutOperations, ...paymentOperations, ...webhookOperations, ...reconciliationOperations, ...codecOperations, ...openOperations];

export type OpenApiDocument = JsonSchema & { openapi: string; paths: Record<string, Record<string, JsonSchema>>; components: JsonSchema };

const DESCRIPTION = `A checkout service on Temporal that never double-charges and never hangs.

**Keys.** Every route but /healthz, /readyz, /openapi.json, /docs and the codec's CORS preflights needs \`Authorization: Bearer <key>\`. A merchant's key (\`secret\`, or \`restricted\`: reads only) acts for its merchant; another merchant's objects answer 404. An \`admin\` key reaches the operator routes only.

**Errors** are \`{"error": {"code", "message", "field"?}}\`; each answer below lists its codes. Every write (POST, DELETE) must say \`Content-Type: application/json\`, body or not (415). An unknown route is 404 \`not_found\`.

**Idempotency.** POST /checkout takes an \`Idempotency-Key\` (the workflow ID): the same key with the same body is one checkout, answered with its first answer and \`Idempotent-Replayed: true\`; with another body, 422.`;

const TAGS = [
  { name: 'Checkout', description: 'Charge a customer, exactly once per key' },
  { name: 'Payments', description: 'Payments by id' },
  { name: 'Webhooks', description: 'Signed payment events sent to your endpoints' },
  { name: 'Operators', description: 'Admin keys only: across merchants' },
  { name: 'Health', description: 'No key: what load balancers probe' },
  { name: 'Documentation', description: 'No key: this document' },
];

export function buildOpenApiDocument(): OpenApiDocument {
  const names = new Map(NAMED_SCHEMAS.map((n) => [n.schema as z.ZodType, n.name]));
  const schemaFor = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const name = names.get(schema);
    return name ? { $ref: `#/components/schemas/${name}` } : jsonSchemaOf(schema, io);
  };
  const paths: OpenApiDocument['paths'] = {};
  for (const op of OPERATIONS) {
    paths[op.path] = { ...paths[op.path], [op.method]: operationObject(op, schemaFor) };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Checkout API', version, description: DESCRIPTION },
    tags: TAGS,
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: "A merchant's or an admin's API key (sk_test_... / sk_live_...), issued by `npm run merchant -- key create`.",
        },
      },
      schemas: Object.fromEntries(NAMED_SCHEMAS.map((n) => [n.name, jsonSchemaOf(n.schema, n.io)])),
    },
  };
}

type SchemaFor = (schema: z.ZodType, io: 'input' | 'output') => JsonSchema;

function operationObject(op: Operation, schemaFor: SchemaFor): JsonSchema {
  const parameters: JsonSchema[] = [];
  for (const [name, p] of Object.entries(op.pathParams ?? {})) {
    parameters.push({ name, in: 'path', required: true, description: p.description, schema: { type: 'string' }, example: p.example });
  }
  if (op.query) {
    const query = jsonSchemaOf(op.query.schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, description: op.query.descriptions[name], schema });
    }
  }
  if (op.idempotencyKey) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: op.idempotencyKey.required,
      description: op.idempotencyKey.description,
      schema: jsonSchemaOf(idempotencyKeySchema, 'input'),
      example: 'order-1001',
    });
  }
  const responses = Object.fromEntries(
    Object.entries(allAnswers(op))
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, answer]) => [status, responseObject(answer, schemaFor)]),
  );
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.access === 'open' ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: true,
            description: op.body.description,
            content: { 'application/json': { schema: schemaFor(op.body.schema, 'input'), example: op.body.example } },
          },
        }
      : {}),
    responses,
  };
}

function responseObject(answer: Answer, schemaFor: SchemaFor): JsonSchema {
  const codes = answer.errors ?? [];
  const description = [answer.description, ...codes.map((code) => `- \`${code}\`: ${ERROR_CODES[code]}`)].join('\n');
  // every answer may carry the request's id
  const headers: Record<string, JsonSchema> = { 'X-Request-Id': headerObject('X-Request-Id', false) };
  for (const [name, need] of Object.entries(answer.headers ?? {}) as [ResponseHeaderName, string][]) headers[name] = headerObject(name, need === 'required');
  if (answer.mediaType === 'none') return { description, headers };
  const bodies = answer.body === undefined ? [] : Array.isArray(answer.body) ? answer.body : [answer.body];
  const schemas = bodies.map((body) => schemaFor(body, 'output'));
  if (codes.length > 0) schemas.push(schemaFor(errorBody(codes as [keyof typeof ERROR_CODES]), 'output'));
  const schema = schemas.length === 1 ? schemas[0] : { oneOf: schemas };
  return {
    description,
    headers,
    content: { [answer.mediaType ?? 'application/json']: { schema, ...(answer.example !== undefined ? { example: answer.example } : {}) } },
  };
}

function headerObject(name: ResponseHeaderName, required: boolean): JsonSchema {
  const { schema, description } = RESPONSE_HEADERS[name];
  return { description, required, schema: jsonSchemaOf(schema, 'output') };
}
