// The one error middleware: typed errors become `{error: {code, message,
// field?}}` with their status and headers; a dependency that cannot answer is
// a 503 to retry; anything unknown is a 500 that says nothing internal.
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors';
import type { Logger } from '../logger';
import { MAX_BODY_BYTES } from './checkout/schema';
import type { CheckoutMetrics } from './metrics';
import { isDatabaseUnavailable } from './unavailable';

export function errorAnswer(logger: Logger, metrics: CheckoutMetrics) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const answer = toHttpError(err);
    // a shed request is counted, not logged: under overload, logging each one would add to the load
    if (answer.status === 503 && answer.code !== 'overloaded') {
      logger.warn({ err: (err as Error | undefined)?.message, path: req.path }, 'dependency unavailable; answered 503');
    } else if (answer.status >= 500 && answer.status !== 503) {
      logger.error({ err, path: req.path }, 'request failed');
    }
    if (req.path === '/checkout') metrics.checkoutOutcomes.inc({ outcome: failedOutcome(answer) });
    res
      .set(answer.headers)
      .status(answer.status)
      .json({ error: { code: answer.code, message: answer.message, ...(answer.field ? { field: answer.field } : {}) } });
  };
}

/** checkout_outcomes_total's label for an answer that is an error. */
function failedOutcome(answer: HttpError): string {
  if (answer.status === 422) return 'key_reused';
  if (answer.status === 429) return 'rate_limited';
  if (answer.status === 503) return answer.code === 'overloaded' ? 'shed' : 'unavailable';
  return answer.status < 500 ? 'invalid' : 'error';
}

// body-parser errors carry a `type`, and like the router's a client-error `status`
// (http-errors, `expose` set); everything unknown is a 500 that says nothing internal.
function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (isDatabaseUnavailable(err)) {
    return new HttpError(503, 'temporarily_unavailable', 'the database is unavailable; retry shortly', undefined, { 'Retry-After': '1' });
  }
  const { type, status, expose, message, limit } = (err ?? {}) as { type?: string; status?: unknown; expose?: unknown; message?: unknown; limit?: unknown };
  // the route's own limit (16 KiB; the codec's is larger)
  if (type === 'entity.too.large') return new HttpError(413, 'payload_too_large', `the body must be at most ${typeof limit === 'number' ? limit : MAX_BODY_BYTES} bytes`);
  if (type === 'entity.parse.failed') return new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new HttpError(415, 'unsupported_media_type', 'the body must be UTF-8 JSON');
  }
  // the client went away or was cut (API_REQUEST_TIMEOUT_MS) before its body was in: nobody reads this answer
  if (type === 'request.aborted') return new HttpError(400, 'request_aborted', 'the request ended before its body was complete');
  // a path the router could not decode (request-text.ts answers these first)
  if (err instanceof URIError) return new HttpError(400, 'invalid_path', 'the path is not valid percent-encoded UTF-8', 'path');
  // any other body the parser could not read: a declared Content-Encoding that does not inflate, a length that does not match
  if (typeof status === 'number' && status >= 400 && status < 500 && expose === true) {
    const why = typeof message === 'string' ? `: ${message}` : '';
    return status === 400
      ? new HttpError(400, 'invalid_body', `the body could not be read${why}`)
      : new HttpError(status, 'invalid_request', `the request could not be read${why}`);
  }
  return new HttpError(500, 'internal_error', 'internal error');
}
