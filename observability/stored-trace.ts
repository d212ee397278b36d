// A trace that outlives the process: its W3C headers (traceparent, baggage)
// stored with a row, and continued by whoever processes the row later (the
// webhook outbox: the checkout step that records an event, the dispatcher
// that delivers it).
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

const tracer = trace.getTracer('checkout-worker');

/** The active trace as W3C headers; null when nothing is traced. */
export function activeTraceHeaders(): Record<string, string> | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : null;
}

/** fn in a producer span continuing the stored trace (without one, a trace of its own). */
export async function inStoredTrace<T>(headers: Record<string, string> | undefined, name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  // the stored trace, not whatever the caller runs in
  const parent = headers ? propagation.extract(ROOT_CONTEXT, headers) : ROOT_CONTEXT;
  return tracer.startActiveSpan(name, { kind: SpanKind.PRODUCER, attributes }, parent, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
