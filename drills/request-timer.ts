// How long each api request of the bundled client took, from its own reports
// (onAttempt): what a drill checks against the api's budget.
import type { AttemptEvent } from '../client/checkout-client';

export interface TimedRequest {
  kind: AttemptEvent['kind'];
  ms: number;
  /** the HTTP status, or why there was none */
  status: string;
}

/** How long each request of one checkout took, from the client's own reports. */
export function requestTimer() {
  const durations: TimedRequest[] = [];
  const nextStart = new Map<string, number>();
  return {
    durations,
    onAttempt(event: AttemptEvent) {
      const now = performance.now();
      // a checkout's first request started when the checkout did
      const started = nextStart.get(event.idempotencyKey) ?? now - event.elapsedMs;
      durations.push({ kind: event.kind, ms: now - started, status: event.httpStatus === undefined ? (event.error ?? 'no answer') : String(event.httpStatus) });
      // the next request goes out after the delay the client chose
      nextStart.set(event.idempotencyKey, now + (event.nextDelayMs ?? 0));
    },
  };
}

/** How many answers of each request kind and status, e.g. {"checkout 201": 12, "poll 200": 3}. */
export function answersByStatus(durations: TimedRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of durations) counts[`${d.kind} ${d.status}`] = (counts[`${d.kind} ${d.status}`] ?? 0) + 1;
  return counts;
}

/** The failure to report when answers took over limitMs, naming the worst; undefined when none did. */
export function lateAnswers(durations: TimedRequest[], limitMs: number): string | undefined {
  const late = durations.filter((d) => d.ms > limitMs);
  if (late.length === 0) return undefined;
  const worst = late.reduce((a, b) => (b.ms > a.ms ? b : a));
  return `${late.length} api answers took over ${limitMs} ms (worst ${worst.ms.toFixed(0)} ms: ${worst.kind} ${worst.status})`;
}
