// The Temporal client's part of a trace: each workflow start (and signal,
// update, query...) is a span whose context goes to the workflow in the
// start's headers, with the request id as baggage. Empty when tracing is off:
// the client then adds no header and the workflow traces nothing.
import type { ClientInterceptors, Next, WorkflowClientInterceptor, WorkflowStartInput } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import { annotateActiveSpan } from './active-span';
import { checkoutSpanAttributes } from './checkout-attributes';
import { activeTracing } from './tracing';

/** For `new Client({ ..., interceptors })` wherever a client that starts workflows is made. */
export function tracingClientInterceptors(): ClientInterceptors {
  if (!activeTracing()) return {};
  // the OpenTelemetry interceptor first, so the one that names the checkout runs inside its span
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor(), new CheckoutStartAttributes()] };
}

/** Puts the checkout's workflow ID, payment and merchant on its StartWorkflow span. */
class CheckoutStartAttributes implements WorkflowClientInterceptor {
  async start(input: WorkflowStartInput, next: Next<WorkflowClientInterceptor, 'start'>): Promise<string> {
    annotate(input);
    return next(input);
  }

  async startWithDetails(input: WorkflowStartInput, next: Next<WorkflowClientInterceptor, 'startWithDetails'>) {
    annotate(input);
    return next(input);
  }
}

function annotate(input: WorkflowStartInput): void {
  annotateActiveSpan(checkoutSpanAttributes(input.workflowType, input.options.workflowId, input.options.args[0]));
}
