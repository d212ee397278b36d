// What an operation answers besides its own answers, by where its route sits
// in api/app.ts: the server's timeouts, the URL-text check and the error
// middleware for every route; authentication, the JSON-only rule and the
// database for every route behind a key; the body parser where a body is read.
import type { ErrorCode } from './error-codes';
import type { ResponseHeaderName } from './headers';
import type { Answer, Operation } from './operation';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'No valid API key',
  403: 'The key may not do this',
  404: 'Not found',
  408: 'The headers or the whole request did not arrive within the server timeouts (API_HEADERS_TIMEOUT_MS, API_REQUEST_TIMEOUT_MS); Node answers with no body and closes the connection',
  409: 'Conflict',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Unprocessable',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Unavailable for now; retry after Retry-After',
};

const err = (errors: ErrorCode[], headers: Answer['headers'] = {}): Answer => ({ description: '', errors, headers });

export function allAnswers(op: Operation): Record<number, Answer> {
  const common: Record<number, Answer>[] = [
    // every route: a query value with a control character (api/request-text.ts), a timeout, an unexpected error
    { 400: err(['invalid_request']), 408: { description: '', mediaType: 'none' }, 500: err(['internal_error']) },
  ];
  if (op.pathParams) common.push({ 400: err(['invalid_path']) });
  if (op.access !== 'open') {
    common.push({
      401: err(['api_key_missing', 'api_key_invalid', 'api_key_revoked', 'api_key_expired'], { 'WWW-Authenticate': 'required' }),
      403: err([op.access === 'admin' ? 'admin_key_required' : 'merchant_key_required']),
      429: err(['too_many_failed_authentications'], { 'Retry-After': 'required' }),
      // the key is looked up in Postgres
      503: err(['temporarily_unavailable'], { 'Retry-After': 'required' }),
    });
    if (op.method !== 'get') common.push({ 403: err(['api_key_read_only']), 415: err(['unsupported_media_type']) });
  }
  if (op.body) {
    common.push({ 400: err(['invalid_json', 'invalid_body', 'request_aborted']), 413: err(['payload_too_large']), 415: err(['unsupported_media_type']) });
  }
  const answers: Record<number, Answer> = {};
  for (const [status, answer] of [...Object.entries(op.answers), ...common.flatMap((c) => Object.entries(c))]) {
    answers[Number(status)] = merge(answers[Number(status)], answer, Number(status));
  }
  return answers;
}

function merge(into: Answer | undefined, more: Answer, status: number): Answer {
  if (!into) return { ...more, description: more.description || (STATUS_TEXT[status] ?? String(status)) };
  const errors = [...new Set([...(into.errors ?? []), ...(more.errors ?? [])])];
  // a header is required only if every way to this status sends it
  const names = new Set([...Object.keys(into.headers ?? {}), ...Object.keys(more.headers ?? {})]) as Set<ResponseHeaderName>;
  const headers: Answer['headers'] = {};
  for (const name of names) headers[name] = into.headers?.[name] === 'required' && more.headers?.[name] === 'required' ? 'required' : 'optional';
  return { ...into, errors, headers };
}
