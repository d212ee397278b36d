// The api's connection to Temporal. Lazy, so the api starts (and answers
// /healthz and fast 503s) while Temporal is down; and its gRPC retries never
// sleep past a call's deadline, so an abandoned call is over by then. TLS and
// the API key as config says (temporal/connection-options.ts).
import { Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';
import type { TemporalAccessConfig } from '../config';
import { connectionOptionsOf } from '../temporal/connection-options';

type Interceptor = NonNullable<ConnectionOptions['interceptors']>[number];

export function connectApiToTemporal(address: string, access: TemporalAccessConfig = {}): Connection {
  return Connection.lazy({ ...connectionOptionsOf({ address, access }), interceptors: [deadlineBoundRetries()] });
}

/**
 * The SDK's default retries (which codes, how many, backoff with jitter), but
 * none whose wait ends past the call's deadline. The default sleeps without
 * looking at it: a retry timer could then fire after the connection closed,
 * which throws out of the timer and takes the process down.
 */
export function deadlineBoundRetries(): Interceptor {
  const defaults = defaultGrpcRetryOptions();
  return (options, nextCall) => {
    const deadline = deadlineMs(options.deadline);
    let wait = 0;
    return makeGrpcRetryInterceptor({
      // the interceptor asks whether to retry, then how long to wait
      retryableDecider(attempt, status) {
        if (!defaults.retryableDecider(attempt, status)) return false;
        wait = defaults.delayFunction(attempt, status);
        return deadline === undefined || Date.now() + wait < deadline;
      },
      delayFunction: () => wait,
    })(options, nextCall);
  };
}

function deadlineMs(deadline: Date | number | undefined): number | undefined {
  if (deadline === undefined) return undefined;
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}
