// The api's side of the database breaker (docs/resilience.md, "The database
// breaker"): it counts what this process's queries do (failed as unavailable,
// or slower than slowMs), reports them to the shared breaker workflow twice a
// second and keeps the state it answers with. While the breaker is not closed,
// requests that would need the database are answered 503 with Retry-After at
// once, instead of each holding a pool connection until its timeout. When the
// shared breaker cannot be reached, the same rules run here on this process's
// own counts, so the api still protects itself.
import crypto from 'node:crypto';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
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
import type { Pool } from '../db/pool';
import type { Logger } from '../logger';
import { dbBreaker, reportDbHealth, type DbBreakerReport, type DbBreakerView } from '../workflows/db-breaker';
import { settledBy } from './deadline';
import type { ObservedPool } from './observed-pool';
import { isDatabaseUnavailable } from './unavailable';

export interface DbGuardDeps {
  client: Client;
  pool: Pool;
  taskQueue: string;
  logger: Logger;
  config: DbBreakerConfig;
  /** how often this process reports and learns the shared state */
  syncMs: number;
  /**
   * The pool's queries in flight (api/observed-pool.ts): those past slowMs count
   * as slow at each report, and while one is, requests are let in only while
   * fewer than maxInUseWhileSlow of the pool's connections are in use (its size
   * less what the probe and the background work need). Unset: neither.
   */
  inFlight?: { queries: ObservedPool; maxInUseWhileSlow: number };
}

export type DbAdmission = { admitted: true } | { admitted: false; retryAfterMs: number };

/** One breaker per deployment: the task queue names it within the namespace. */
export function dbBreakerWorkflowId(taskQueue: string): string {
  return `db-breaker-${taskQueue}`;
}

export class DbGuard {
  readonly reporter = `api-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  private pending: DbObservation = { calls: 0, failures: 0, slow: 0 };
  private local: DbBreaker = closedDbBreaker();
  private shared: { view: DbBreakerView; at: number } | null = null;
  private probeResult: 'ok' | 'failed' | undefined;
  private probing = false;
  private acting: DbBreakerState = 'closed';
  private timer: NodeJS.Timeout | undefined;
  private syncing = false;
  private unreachableLogged = false;

  constructor(private readonly deps: DbGuardDeps) {}

  /** One query's outcome on this process's pool; alreadySlow: it was counted as an overdue call before it ended. */
  observe(durationMs: number, err: unknown, alreadySlow = false): void {
    if (alreadySlow) {
      // counted once already, as a slow call; a failure at the end still counts
      if (err !== undefined && isDatabaseUnavailable(err)) this.pending.failures += 1;
      return;
    }
    this.pending.calls += 1;
    if (err !== undefined && isDatabaseUnavailable(err)) this.pending.failures += 1;
    if (durationMs > this.deps.config.slowMs) this.pending.slow += 1;
  }

  /** Queries still running past the slow threshold, counted as slow calls now (api/observed-pool.ts). */
  observeOverdue(n: number): void {
    this.pending.calls += n;
    this.pending.slow += n;
  }

  /**
   * Whether a request that needs the database may go on now. While a query is
   * overdue (the database is turning slow, before the breaker has seen enough
   * to open), a request is let in only while fewer than maxInUseWhileSlow
   * connections are in use: a request that answered at its deadline may still
   * hold its connection, and the last ones stay free.
   */
  admit(): DbAdmission {
    const now = Date.now();
    const view = this.view(now);
    this.act(view.state);
    if (view.state !== 'closed') return { admitted: false, retryAfterMs: view.retryAfterMs };
    const { inFlight, pool, config } = this.deps;
    if (inFlight && pool.totalCount - pool.idleCount >= inFlight.maxInUseWhileSlow && inFlight.queries.anyOverdue(config.slowMs)) {
      return { admitted: false, retryAfterMs: 1_000 };
    }
    return { admitted: true };
  }

  get state(): DbBreakerState {
    return this.view(Date.now()).state;
  }

  /** Starts reporting; returns its stop. */
  start(): () => void {
    this.timer = setInterval(() => {
      if (this.deps.inFlight) this.observeOverdue(this.deps.inFlight.queries.takeOverdue(this.deps.config.slowMs));
      void this.sync();
    }, this.deps.syncMs);
    this.timer.unref();
    return () => clearInterval(this.timer);
  }

  /** One report to the shared breaker (and the local rules on the same counts). */
  async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    const now = Date.now();
    const counts = this.pending;
    this.pending = { calls: 0, failures: 0, slow: 0 };
    const probe = this.probeResult;
    this.probeResult = undefined;
    try {
      // the local rules, on this process's counts: what it acts on when the shared breaker is out of reach
      if (probe) this.local = probeOutcome(this.local, this.reporter, probe === 'ok', now);
      this.local = observeDb(this.local, counts, now, this.deps.config);
      try {
        const view = await this.report({ ...counts, reporter: this.reporter, probe });
        this.shared = { view, at: Date.now() };
        this.unreachableLogged = false;
        if (view.probeGranted) this.runProbe();
      } catch (err) {
        if (!this.unreachableLogged) {
          this.deps.logger.warn({ err: (err as Error).message }, 'database breaker: the shared state is out of reach; acting on this process alone');
          this.unreachableLogged = true;
        }
        if (!this.freshShared(Date.now())) {
          const grant = grantProbe(this.local, this.reporter, Date.now(), this.deps.config);
          this.local = grant.breaker;
          if (grant.granted) this.runProbe();
        }
      }
      this.act(this.view(Date.now()).state);
    } finally {
      this.syncing = false;
    }
  }

  private async report(report: DbBreakerReport): Promise<DbBreakerView> {
    const { client, taskQueue, config, syncMs } = this.deps;
    const startWorkflowOperation = new WithStartWorkflowOperation(dbBreaker, {
      workflowId: dbBreakerWorkflowId(taskQueue),
      taskQueue,
      args: [{ config }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    // a report that cannot finish in two beats is as good as none
    return client.withDeadline(Date.now() + 2 * syncMs, () =>
      client.workflow.executeUpdateWithStart(reportDbHealth, { args: [report], startWorkflowOperation }),
    );
  }

  /** The one probe: a trivial query that must come back within slowMs. */
  private runProbe(): void {
    if (this.probing) return;
    this.probing = true;
    settledBy(Date.now() + this.deps.config.slowMs, this.deps.pool.query('SELECT 1'))
      .then(
        () => (this.probeResult = 'ok'),
        () => (this.probeResult = 'failed'),
      )
      .finally(() => {
        this.probing = false;
        this.deps.logger.info({ probe: this.probeResult }, 'database breaker: probe');
        void this.sync();
      });
  }

  /** The shared state, while its last report is recent enough to act on. */
  private freshShared(now: number): DbBreakerView | undefined {
    return this.shared && now - this.shared.at <= 3 * this.deps.syncMs ? this.shared.view : undefined;
  }

  private view(now: number): { state: DbBreakerState; retryAfterMs: number } {
    return this.freshShared(now) ?? { state: this.local.state, retryAfterMs: dbRetryAfterMs(this.local, now, this.deps.config) };
  }

  private act(state: DbBreakerState): void {
    if (state === this.acting) return;
    this.deps.logger.warn({ from: this.acting, to: state }, 'database breaker changed');
    this.acting = state;
  }
}
