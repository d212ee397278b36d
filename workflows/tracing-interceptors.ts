// Workflow interceptors, bundled with every workflow (worker/create-worker.ts,
// WORKFLOW_INTERCEPTOR_MODULES): a workflow whose start carried a trace context
// (a traced client put it in the start's headers) gets Temporal's
// OpenTelemetry interceptors: a RunWorkflow span, a StartActivity span per
// activity (local ones too) whose context goes to the activity in its
// headers. Any other workflow runs exactly as without this module, so an
// untraced checkout pays nothing, and histories recorded without tracing
// replay untouched. The choice comes from the start's headers, which are in
// the history: a replay chooses alike. Spans add no commands.
import { TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import { workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { annotateActiveSpan, checkoutSpanAttributes } from '../observability/checkout-attributes';

interface Traced {
  inbound: OpenTelemetryInboundInterceptor;
  outbound: OpenTelemetryOutboundInterceptor;
  internals: OpenTelemetryInternalsInterceptor;
  attributes: Record<string, string>;
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  // set when the start turns out to be traced; made then, not before, so an untraced workflow builds no tracer
  let traced: Traced | undefined;
  // next, with the checkout's attributes put on the span that is active when it is called
  const annotated =
    <I, O>(next: (input: I) => O) =>
    (input: I): O => {
      if (traced) annotateActiveSpan(traced.attributes);
      return next(input);
    };
  return {
    inbound: [
      {
        execute(input, next) {
          if (input.headers[TRACE_HEADER] === undefined) return next(input);
          const { workflowType, workflowId } = workflowInfo();
          traced = {
            inbound: new OpenTelemetryInboundInterceptor(),
            outbound: new OpenTelemetryOutboundInterceptor(),
            internals: new OpenTelemetryInternalsInterceptor(),
            attributes: checkoutSpanAttributes(workflowType, workflowId, input.args[0]),
          };
          return traced.inbound.execute(input, annotated(next));
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => (traced ? traced.outbound.scheduleActivity(input, annotated(next)) : next(input)),
        scheduleLocalActivity: (input, next) => (traced ? traced.outbound.scheduleLocalActivity(input, annotated(next)) : next(input)),
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
