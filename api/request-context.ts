// Every request's identity, mounted first (api/app.ts): an X-Request-Id (the
// caller's if it is a sane one, else a new UUID) on the answer whatever the
// route or status, and in the request's context, so every log line written
// while serving it carries it (logger.ts) and, with tracing on, Temporal's
// headers take it to the checkout's activities. With tracing on, the request
// is a server span too, continuing the caller's trace if it sent a W3C
// traceparent; off, OpenTelemetry's no-op tracer makes that span nothing.
import { randomUUID } from 'node:crypto';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { withRequestId } from '../observability/correlation';

/** What an incoming X-Request-Id may be; anything else is replaced, never echoed. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(): RequestHandler {
  const tracer = trace.getTracer('checkout-api');
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    // the caller's trace; its baggage is not ours to carry on (withRequestId replaces it)
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      req.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path, request_id: requestId } },
      parent,
    );
    res.once('close', () => endSpan(span, req, res));
    context.with(withRequestId(trace.setSpan(parent, span), requestId), next);
  };
}

/** Named by its route once one matched (`POST /checkout`), with the status it answered. */
function endSpan(span: Span, req: Request, res: Response): void {
  const route = typeof req.route?.path === 'string' ? `${req.baseUrl}${req.route.path}` : undefined;
  if (route) span.updateName(`${req.method} ${route}`).setAttribute('http.route', route);
  span.setAttribute('http.response.status_code', res.statusCode);
  const merchantId = (res.locals.caller as { merchantId?: string | null } | undefined)?.merchantId;
  if (merchantId) span.setAttribute('merchant.id', merchantId);
  if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  // closed before the answer was sent: the client went away or was cut
  if (!res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the answer was sent' });
  span.end();
}
