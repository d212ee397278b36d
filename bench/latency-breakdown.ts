// Where the time of one checkout goes: the api's share (validate, reserve the
// payment row, start the workflow, wait for the result, answer) is the measured
// latency less the workflow's own run; the workflow's run is split by step
// from the event times of its history (one clock: everything runs here).
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { checkoutWorkflowId } from '../domain/ids';
import { percentile, round } from './latency-stats';
import type { Sample } from './open-load';

const EventType = temporal.api.enums.v1.EventType;

export interface BreakdownRow {
  step: string;
  medianMs: number;
  p95Ms: number;
}

export interface Breakdown {
  samples: number;
  rows: BreakdownRow[];
}

/** Splits `count` answered checkouts of the merchant, picked evenly over the phase, into steps. */
export async function breakDownLatency(client: Client, merchantId: string, samples: Sample[], count: number): Promise<Breakdown> {
  const answered = samples.filter((s) => s.status === 201).sort((a, b) => a.scheduledMs - b.scheduledMs);
  const picked = Array.from({ length: Math.min(count, answered.length) }, (_, i) => answered[Math.floor((i * answered.length) / count)] as Sample);
  const perStep = new Map<string, number[]>();
  const add = (step: string, ms: number, into: Map<string, number>) => into.set(step, (into.get(step) ?? 0) + ms);

  for (const sample of picked) {
    const history = await client.workflow.getHandle(checkoutWorkflowId(merchantId, sample.key)).fetchHistory();
    const events = history.events ?? [];
    const steps = new Map<string, number>();
    const activityNames = new Map<number, string>();
    let after = 'start';
    let prev = tsToMs(events[0]?.eventTime);
    const first = prev;
    let closed = prev;
    for (const e of events) {
      const t = tsToMs(e.eventTime);
      const gap = t - prev;
      switch (e.eventType) {
        case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
          add(`workflow task after ${after}: wait for the worker`, gap, steps);
          break;
        case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
          add(`workflow task after ${after}: run on the worker`, gap, steps);
          break;
        case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
          activityNames.set(Number(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? 'activity');
          add(`workflow task after ${after}: commit`, gap, steps);
          break;
        case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
          const name = activityNames.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? 'activity';
          add(`${name}: wait for the worker`, gap, steps);
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
          const name = activityNames.get(Number(e.activityTaskCompletedEventAttributes?.scheduledEventId)) ?? 'activity';
          add(`${name}: run`, gap, steps);
          after = name;
          break;
        }
        case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
          add(`workflow task after ${after}: commit`, gap, steps);
          closed = t;
          break;
        default:
          add(`workflow task after ${after}: wait for the worker`, gap, steps);
      }
      prev = t;
    }
    steps.set('api: before the start and after the result (validate, reserve row, start call, result poll, answer)', sample.latencyMs - (closed - first));
    steps.set('total as the client saw it', sample.latencyMs);
    for (const [step, ms] of steps) perStep.set(step, [...(perStep.get(step) ?? []), ms]);
  }

  const rows = [...perStep.entries()].map(([step, values]) => {
    const sorted = values.sort((a, b) => a - b);
    return { step, medianMs: round(percentile(sorted, 50)), p95Ms: round(percentile(sorted, 95)) };
  });
  return { samples: picked.length, rows };
}
