// Attributes on whatever span is active: in the api, the worker, or a
// workflow's sandbox (there, its own tracer's; workflows/tracing-spans.ts).
import { trace } from '@opentelemetry/api';

/** Puts attributes on the active span; nothing without one. */
export function annotateActiveSpan(attributes: Record<string, string>): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
