// Holds one answer of the api to the OpenAPI document: its status is
// documented for that path and method, its body matches the schema, its
// headers are the documented ones. Used on every answer the integration tests
// received (contract-setup.ts) and by test/integration/openapi.test.ts.
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import type { OpenApiDocument } from '../../api/openapi/document';
import { CONTRACT_HEADERS } from '../../api/openapi/headers';

export interface RecordedAnswer {
  method: string;
  path: string;
  status: number;
  /** names in lower case, as fetch's Headers give them */
  headers: Record<string, string>;
  body: string;
  /** the test that received it */
  test: string;
}

type Json = Record<string, unknown>;
interface ResponseObject {
  headers?: Record<string, { required?: boolean; schema: Json }>;
  content?: Record<string, { schema: Json }>;
}

/** Static files of the docs page: not operations of the api. */
const ASSETS = /^\/docs\/assets\//;

export function createContractChecker(document: OpenApiDocument): (answer: RecordedAnswer) => string[] {
  // zod writes a pattern beside each format it names, so formats need no checker of their own
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const components = document.components as { schemas: Json };
  const compiled = new Map<string, ValidateFunction>();
  const validatorOf = (key: string, schema: Json): ValidateFunction => {
    let validate = compiled.get(key);
    if (!validate) {
      // the components beside the schema, so its #/components/schemas/... refs resolve
      validate = ajv.compile({ ...schema, components: { schemas: components.schemas } });
      compiled.set(key, validate);
    }
    return validate;
  };
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const errorSchema = { $ref: '#/components/schemas/Error' };

  return (answer) => {
    if (ASSETS.test(answer.path)) return [];
    const method = answer.method === 'HEAD' ? 'get' : answer.method.toLowerCase();
    const template = templates.find((t) => t.pattern.test(answer.path) && document.paths[t.template]?.[method])?.template;
    const problems: string[] = [];
    const body = parseJson(answer.body);
    if (!template) {
      // a path or method the api has no route for: refused before any route (401, 400) or 404 not_found, as an error body
      if (answer.status < 400) return [`${answer.method} ${answer.path} answered ${answer.status} but no operation documents it`];
      const validate = validatorOf('unrouted', errorSchema);
      if (!validate(body)) problems.push(`unrouted ${answer.method} ${answer.path} ${answer.status}: ${describe(validate.errors)}`);
      return problems;
    }
    const where = `${answer.method} ${template} ${answer.status}`;
    const operation = document.paths[template]?.[method] as { responses: Record<string, ResponseObject> };
    const response = operation.responses[String(answer.status)];
    if (!response) return [`${where}: status ${answer.status} is not documented`];

    const documented = response.headers ?? {};
    const names = new Map(Object.keys(documented).map((name) => [name.toLowerCase(), name]));
    for (const [name, header] of Object.entries(documented)) {
      const value = answer.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`${where}: required header ${name} is missing`);
        continue;
      }
      const validate = validatorOf(`${where} header ${name}`, header.schema);
      if (!validate(value)) problems.push(`${where}: header ${name}: ${describe(validate.errors, 'value')}`);
    }
    for (const name of CONTRACT_HEADERS) {
      if (answer.headers[name.toLowerCase()] !== undefined && !names.has(name.toLowerCase())) problems.push(`${where}: header ${name} is sent but not documented`);
    }

    if (!response.content) {
      if (answer.body !== '') problems.push(`${where}: documented without a body, but has one`);
      return problems;
    }
    const mediaType = (answer.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const content = response.content[mediaType];
    if (!content) return [...problems, `${where}: content type ${mediaType || '(none)'} is not documented (${Object.keys(response.content).join(', ')})`];
    if (answer.method === 'HEAD' || mediaType !== 'application/json') return problems;
    const validate = validatorOf(`${where} body`, content.schema);
    if (!validate(body)) problems.push(`${where}: ${describe(validate.errors)}`);
    return problems;
  };
}

/** Ajv's errors, with array indexes as * so one problem in many answers reads as one. */
function describe(errors: ErrorObject[] | null | undefined, what = 'body'): string {
  const lines = (errors ?? []).map((e) => `${what}${e.instancePath.replace(/\/\d+(?=\/|$)/g, '/*')} ${e.message ?? ''}${e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : ''}`);
  return [...new Set(lines)].join('; ');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
