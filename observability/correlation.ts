// What ties one request's log lines together, in the api and in the worker:
// the request id (carried as W3C baggage, so Temporal's headers take it from
// the api to the workflow and its activities) and the active trace. Read from
// the active OpenTelemetry context, so no code passes them along by hand.
import { context, isSpanContextValid, propagation, trace, type Context } from '@opentelemetry/api';

/** The baggage entry that carries a request's X-Request-Id. */
export const REQUEST_ID_BAGGAGE_KEY = 'request_id';

/** ctx carrying this request id as its only baggage (what a caller sent as baggage is not kept). */
export function withRequestId(ctx: Context, requestId: string): Context {
  return propagation.setBaggage(ctx, propagation.createBaggage({ [REQUEST_ID_BAGGAGE_KEY]: { value: requestId } }));
}

/** request_id, trace_id and span_id of the active context, for a log line; none outside a request or an activity. */
export function correlationFields(): Record<string, string> {
  const active = context.active();
  const requestId = propagation.getBaggage(active)?.getEntry(REQUEST_ID_BAGGAGE_KEY)?.value;
  const span = trace.getSpanContext(active);
  const traced = span !== undefined && isSpanContextValid(span);
  // a new object each time: pino's mixin merge writes the line's own fields into it
  if (!requestId && !traced) return {};
  return {
    ...(requestId ? { request_id: requestId } : {}),
    ...(traced ? { trace_id: span.traceId, span_id: span.spanId } : {}),
  };
}
