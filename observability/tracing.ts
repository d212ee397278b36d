// OpenTelemetry for one process (docs/design.md, "Traces and correlation"),
// set up once at start by api/main.ts and worker/main.ts (a test installs its
// own exporter). Always: the async context (AsyncLocalStorage) and the W3C
// trace-context and baggage propagators, so a request's id rides in its
// context and reaches every log line. Only when an OTLP endpoint is configured
// (or a test passes an exporter): a tracer provider, the undici
// instrumentation for outgoing HTTP calls, and the Temporal interceptors
// (observability/temporal-*.ts). Off, spans come from OpenTelemetry's no-op
// tracer and nothing is exported.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/tracing';

export interface TracingOptions {
  /** service.name of every span this process exports: 'api' or 'worker'. */
  serviceName: string;
  config: TracingConfig;
  /** Tests: spans go here, each at once (SimpleSpanProcessor), whatever the config says. */
  exporter?: SpanExporter;
}

/** What the Temporal interceptors and the workflow span sink need from an active tracer. */
export interface ActiveTracing {
  processor: SpanProcessor;
  resource: Resource;
}

export interface Tracing {
  /** Whether spans are recorded and exported. */
  enabled: boolean;
  /** Exports what is buffered and undoes the global registration (at process exit, or a test's end). */
  shutdown(): Promise<void>;
}

// OpenTelemetry's API is process-wide (one registered provider), so this is too:
// the Temporal client and worker options read it where they are made.
let started = false;
let active: ActiveTracing | undefined;

/** The tracer this process exports through, if tracing is on. */
export function activeTracing(): ActiveTracing | undefined {
  return active;
}

export function startTracing(options: TracingOptions): Tracing {
  if (started) throw new Error('tracing is already started in this process');
  started = true;
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
  const exporter = options.exporter ?? (options.config.otlpTracesUrl ? new OTLPTraceExporter({ url: options.config.otlpTracesUrl }) : undefined);
  if (!exporter) {
    context.setGlobalContextManager(contextManager);
    propagation.setGlobalPropagator(propagator);
    return { enabled: false, shutdown: async () => disableGlobals() };
  }

  const resource = new Resource({ 'service.name': options.serviceName });
  // a test reads each span as it ends; a real exporter sends batches off the hot path
  const processor = options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const provider = new BasicTracerProvider({
    resource,
    // an incoming traceparent decides for its trace; a new trace is kept at the configured ratio
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.config.sampleRatio) }),
    spanProcessors: [processor],
  });
  provider.register({ contextManager, propagator });
  // outgoing HTTP (the provider, merchants' endpoints) through undici's diagnostics channels; only
  // inside a trace (a checkout's activity): a call outside one is no trace of its own and carries no traceparent
  const undici = new UndiciInstrumentation({ requireParentforSpans: true });
  const uninstall = registerInstrumentations({ tracerProvider: provider, instrumentations: [undici] });
  active = { processor, resource };
  return {
    enabled: true,
    async shutdown() {
      uninstall();
      active = undefined;
      await provider.shutdown();
      disableGlobals();
    },
  };
}

function disableGlobals(): void {
  started = false;
  trace.disable();
  propagation.disable();
  context.disable();
}
