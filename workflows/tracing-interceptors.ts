// Workflow interceptors, bundled with every workflow (worker/create-worker.ts,
// WORKFLOW_INTERCEPTOR_MODULES): a workflow whose start carried a trace context
// (a traced client put it in the start's headers) gets Temporal's
// OpenTelemetry interceptors (workflows/tracing-spans.ts): a RunWorkflow span,
// a StartActivity span per activity (local ones too) whose context goes to
// the activity in its headers. Any other workflow runs exactly as without
// this module, so an untraced checkout pays nothing, and histories recorded
// without tracing replay untouched. The choice comes from the start's
// headers, which are in the history: a replay chooses alike. Spans add no commands.
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type * as TracingSpans from './tracing-spans';

/**
 * The header Temporal's OpenTelemetry client interceptor puts the trace in
 * (TRACE_HEADER of @temporalio/interceptors-opentelemetry/lib/instrumentation;
 * not imported from there, which loads OpenTelemetry; test/integration/tracing.test.ts checks they agree).
 */
export const TRACE_HEADER = '_tracer-data';

/**
 * OpenTelemetry's modules, loaded on a workflow's first traced start only:
 * each workflow evaluates the modules it loads (reuseV8Context), and these
 * are half the bundle.
 */
function tracingSpans(): typeof TracingSpans {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load on purpose (above)
  return require('./tracing-spans') as typeof TracingSpans;
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  // set when the start turns out to be traced
  let traced: TracingSpans.TracedWorkflow | undefined;
  return {
    inbound: [
      {
        execute(input, next) {
          if (input.headers[TRACE_HEADER] === undefined) return next(input);
          traced = tracingSpans().traceWorkflow(input.args[0]);
          return traced.inbound.execute(input, traced.annotated(next));
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => (traced ? traced.outbound.scheduleActivity(input, traced.annotated(next)) : next(input)),
        scheduleLocalActivity: (input, next) => (traced ? traced.outbound.scheduleLocalActivity(input, traced.annotated(next)) : next(input)),
        startChildWorkflowExecution: (input, next) => (traced ? traced.outbound.startChildWorkflowExecution(input, next) : next(input)),
        continueAsNew: (input, next) => (traced ? traced.outbound.continueAsNew(input, next) : next(input)),
        signalWorkflow: (input, next) => (traced ? traced.outbound.signalWorkflow(input, next) : next(input)),
        // the workflow's own log lines carry trace_id and span_id
        getLogAttributes: (input, next) => (traced ? traced.outbound.getLogAttributes(input, next) : next(input)),
      },
    ],
    internals: [{ dispose: (input, next) => (traced ? traced.internals.dispose(input, next) : next(input)) }],
  };
};
