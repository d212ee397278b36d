// The worker's part of a trace: a span per activity run (local ones too),
// under the workflow's span whose context came in the activity's headers, and
// the sink that takes the spans the workflow code makes in its sandbox
// (workflows/tracing-interceptors.ts) to this process's exporter.
import type { Context as ActivityContext } from '@temporalio/activity';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, InjectedSinks, Next } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import { annotateActiveSpan } from './active-span';
import { checkoutSpanAttributes } from './checkout-attributes';
import { activeTracing } from './tracing';

export interface WorkerTracing {
  /** Activity interceptors: none when tracing is off. */
  activity: ActivityInterceptorsFactory[];
  /**
   * The workflow span sink, always registered: a traced workflow on a worker
   * whose tracing is off drops its spans here instead of logging an error.
   */
  sinks: InjectedSinks<OpenTelemetrySinks>;
}

export function workerTracing(): WorkerTracing {
  const tracing = activeTracing();
  if (!tracing) return { activity: [], sinks: { exporter: { export: { fn: () => undefined } } } };
  const exporter = makeWorkflowExporter(tracing.processor, tracing.resource);
  return {
    // the first factory's interceptor runs outermost: the attributes go on the OpenTelemetry span
    activity: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
      (ctx) => ({ inbound: new ActivityAttributes(ctx) }),
    ],
    sinks: {
      exporter: {
        export: {
          // the SDK copies the whole WorkflowInfo onto each span, search attributes (the customer id) and memo included: only these go
          fn: (info, spans) => exporter.export.fn(spanInfoOf(info), spans),
        },
      },
    },
  };
}

function spanInfoOf(info: WorkflowInfo): WorkflowInfo {
  const { workflowId, runId, workflowType, taskQueue, namespace } = info;
  return { workflowId, runId, workflowType, taskQueue, namespace } as WorkflowInfo;
}

/** The checkout's workflow ID on each of its activity spans. */
class ActivityAttributes implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: ActivityContext) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const { workflowType, workflowExecution } = this.ctx.info;
    if (workflowType && workflowExecution) annotateActiveSpan(checkoutSpanAttributes(workflowType, workflowExecution.workflowId, undefined));
    return next(input);
  }
}
