// The contract charges and refunds share with a real provider: an
// Idempotency-Key is required, the body is checked before any work, and a
// repeat under the key gets the first answer back instead of new work.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Request } from 'express';
import type { z } from 'zod';
import { errorBody, invalidFromZod, invalidRequest, type Reply } from './http-json';
import type { StoredAnswer } from './idempotency';
import type { StubState } from './state';

export interface IdempotentOperation<T> {
  body: z.ZodType<T>;
  /** Identifies the request under its key: the same key with another fingerprint is refused. */
  fingerprint(input: T): string;
  /** The work, done once per key. */
  apply(key: string, input: T): StoredAnswer;
}

export async function runIdempotent<T>(
  state: Pick<StubState, 'faults' | 'idempotency' | 'counts'>,
  req: Request,
  operation: IdempotentOperation<T>,
): Promise<Reply> {
  const key = req.get('Idempotency-Key');
  if (!key) return invalidRequest('the Idempotency-Key header is required', 'Idempotency-Key');
  const parsed = operation.body.safeParse(req.body);
  if (!parsed.success) return invalidFromZod(parsed.error);
  const input = parsed.data;

  const result = await state.idempotency.run(key, operation.fingerprint(input), async () => {
    // Latency comes first and is not tied to the caller: a caller who gives up
    // still gets charged, as with a real provider.
    await sleep(state.faults.latency());
    return operation.apply(key, input);
  });

  if (result.kind === 'key_reused') {
    return {
      status: 400,
      body: errorBody('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.'),
    };
  }
  if (result.kind === 'replay') {
    state.counts.replays++;
    return { ...result.answer, replayed: true };
  }
  return result.answer;
}
