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
