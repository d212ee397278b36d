// A traced workflow's spans (workflows/tracing-interceptors.ts loads this
// module only for a workflow whose start carried a trace context):
// Temporal's OpenTelemetry workflow interceptors, and the checkout's
// attributes on the RunWorkflow span and each StartActivity span.
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import { workflowInfo } from '@temporalio/workflow';
import { annotateActiveSpan } from '../observability/active-span';
import { checkoutSpanAttributes } from '../observability/checkout-attributes';

export interface TracedWorkflow {
  inbound: OpenTelemetryInboundInterceptor;
  outbound: OpenTelemetryOutboundInterceptor;
  internals: OpenTelemetryInternalsInterceptor;
  /** next, putting the checkout's attributes on the span active when it is called. */
  annotated<I, O>(next: (input: I) => O): (input: I) => O;
}

/** The interceptors of one traced workflow, started with this input. */
export function traceWorkflow(input: unknown): TracedWorkflow {
  const { workflowType, workflowId } = workflowInfo();
  const attributes = checkoutSpanAttributes(workflowType, workflowId, input);
  return {
    inbound: new OpenTelemetryInboundInterceptor(),
    outbound: new OpenTelemetryOutboundInterceptor(),
    internals: new OpenTelemetryInternalsInterceptor(),
    annotated: (next) => (input) => {
      annotateActiveSpan(attributes);
      return next(input);
    },
  };
}
