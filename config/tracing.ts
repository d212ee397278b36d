import { z } from 'zod';
import { parse } from './read';

// ---- tracing: OpenTelemetry spans over OTLP/HTTP (observability/tracing.ts) ----
// A slice of its own, read by the api and the worker alike. Off by default:
// no exporter, no tracer, no Temporal tracing interceptors. Set
// OTEL_EXPORTER_OTLP_ENDPOINT (the collector's base URL, OpenTelemetry's own
// variable; spans go to <endpoint>/v1/traces) to turn it on.
// TRACING_SAMPLE_RATIO keeps that share of new traces; an incoming
// traceparent's sampled flag decides for its own trace.
export const tracingVars = {
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  TRACING_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(1),
};

/** Every variable of the tracing group. */
export const TRACING_VARIABLES: string[] = Object.keys(tracingVars);

export interface TracingConfig {
  /** Where spans are sent (OTLP/HTTP, JSON); unset: tracing off. */
  otlpTracesUrl?: string;
  /** The share of new traces kept, 0 to 1. */
  sampleRatio: number;
}

export function loadTracingConfig(env: NodeJS.ProcessEnv = process.env): TracingConfig {
  const e = parse(z.object(tracingVars), env);
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  return { otlpTracesUrl: base === undefined ? undefined : `${base}/v1/traces`, sampleRatio: e.TRACING_SAMPLE_RATIO };
}
