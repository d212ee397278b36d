// The waits between delivery attempts: a fixed schedule (5 s ... 24 h by
// default), each wait spread by ±jitterRatio so that deliveries which failed
// together (an endpoint down) do not come back together.

export interface RetrySchedule {
  /** The wait after attempt n is delaysMs[n - 1]; after the last, the delivery is dead. */
  delaysMs: number[];
  jitterRatio: number;
}

/** The number of attempts the schedule allows: the first and one after each wait. */
export function maxAttempts(schedule: RetrySchedule): number {
  return schedule.delaysMs.length + 1;
}

/** The jittered wait after `attempt` failed, or undefined when it was the last one. */
export function retryDelayMs(schedule: RetrySchedule, attempt: number, random: () => number = Math.random): number | undefined {
  const base = schedule.delaysMs[attempt - 1];
  if (base === undefined) return undefined;
  const spread = base * schedule.jitterRatio;
  // at least 1 ms: a zero sleep would not be a wait at all
  return Math.max(1, Math.round(base - spread + random() * 2 * spread));
}
