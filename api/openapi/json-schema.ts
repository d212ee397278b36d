// A zod schema as the JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) that
// zod 4 writes for it: requests as zod accepts them (io: 'input', so a default
// or a coerced query value shows as the client sends it), answers as we send them.
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // refinements (such as "no control characters") cannot be written in JSON Schema: zod leaves them out
  const converted = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  // the document says its dialect once (OpenAPI 3.1's default), not in every schema
  delete converted.$schema;
  return converted;
}
