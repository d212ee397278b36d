// The breaker in front of the application's Postgres, shared by every api
// process (docs/resilience.md, "The database breaker"). Its state lives here,
// in Temporal, because it cannot live in the database it protects: Temporal is
// the one store every api already reaches and its persistence is not the
// application's Postgres. Each api reports what its queries did about twice a
// second (an update with start, so the first report creates the workflow) and
// gets the breaker's state back in the same round trip.
import { allHandlersFinished, condition, continueAsNew, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  closedDbBreaker,
  dbRetryAfterMs,
  grantProbe,
  observeDb,
  probeOutcome,
  type DbBreaker,
  type DbBreakerConfig,
  type DbBreakerState,
  type DbObservation,
} from '../domain/db-breaker';

export interface DbBreakerReport extends DbObservation {
  /** the reporting api process */
  reporter: string;
  /** the outcome of the probe this reporter was granted, if it ran one */
  probe?: 'ok' | 'failed';
}

export interface DbBreakerView {
  state: DbBreakerState;
  retryAfterMs: number;
  /** this reporter holds the one probe: it checks the database and reports how that went */
  probeGranted: boolean;
}

export const reportDbHealth = defineUpdate<DbBreakerView, [DbBreakerReport]>('reportDbHealth');

// a run's history stays short: a new run carries the state on
const REPORTS_PER_RUN = 500;

export async function dbBreaker(input: { config: DbBreakerConfig; breaker?: DbBreaker }): Promise<void> {
  let breaker = input.breaker ?? closedDbBreaker();
  let reports = 0;
  setHandler(reportDbHealth, (report) => {
    // the SDK's deterministic clock (the time of this workflow task, the same on replay): the
    // breaker's times must be one clock for every api, not each reporter's own
    // eslint-disable-next-line no-restricted-properties
    const now = Date.now();
    if (report.probe) breaker = probeOutcome(breaker, report.reporter, report.probe === 'ok', now);
    breaker = observeDb(breaker, report, now, input.config);
    const grant = grantProbe(breaker, report.reporter, now, input.config);
    breaker = grant.breaker;
    reports += 1;
    return { state: breaker.state, retryAfterMs: dbRetryAfterMs(breaker, now, input.config), probeGranted: grant.granted };
  });
  await condition(() => reports >= REPORTS_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof dbBreaker>({ config: input.config, breaker });
}
