// The fleet's backlog and lag as Prometheus gauges, read from Postgres when
// Prometheus scrapes (db/backlog.ts), and the retry budget's use: pending
// payments by age, the webhook outbox, deliveries pending and dead. Registered
// by worker processes only (every worker shows the same fleet-wide figures).
// A scrape never waits on a slow database: the read has a deadline and a
// statement timeout; when it fails the gauges keep their last values and
// backlog_metrics_errors_total goes up.
import client from 'prom-client';
import { readBacklog, type Backlog } from '../db/backlog';
import { withConnectionBy, type Run } from '../db/deadline';
import type { Pool } from '../db/pool';
import type { ProviderProtection } from '../db/provider-protection';
import type { Logger } from '../logger';

export interface BacklogMetricsDeps {
  pool: Pool;
  logger: Logger;
  /** The fleet's retry budget, for provider_retry_budget_used_ratio. */
  protection?: ProviderProtection;
  /** The whole read, connecting included; default 1 s. */
  timeoutMs?: number;
}

interface FleetState {
  backlog: Backlog;
  retryBudget?: { provider: string; usedRatio: number };
}

// The gauges' collect() callbacks all run in one scrape: they share one read.
const READ_REUSE_MS = 1_000;

export function registerBacklogMetrics(registry: client.Registry, deps: BacklogMetricsDeps): void {
  const timeoutMs = deps.timeoutMs ?? 1_000;
  const errors = new client.Counter({
    name: 'backlog_metrics_errors_total',
    help: 'Scrapes whose backlog read from Postgres failed or took too long: the backlog gauges kept their last values',
    registers: [registry],
    async collect() {
      await current();
    },
  });
  let last: { at: number; read: Promise<FleetState | undefined> } | undefined;
  const current = (): Promise<FleetState | undefined> => {
    if (last && Date.now() - last.at < READ_REUSE_MS) return last.read;
    const read = readFleetState(deps, timeoutMs).catch((err: unknown) => {
      errors.inc();
      deps.logger.warn({ err: (err as Error).message }, 'backlog metrics: could not read Postgres; the gauges keep their last values');
      return undefined;
    });
    last = { at: Date.now(), read };
    return read;
  };
  // a gauge whose collect() sets it from the shared read, or leaves it as it was
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], set: (g: client.Gauge<L>, s: FleetState) => void) =>
    new client.Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const state = await current();
        if (state) set(this, state);
      },
    });

  gauge('payments_pending', 'Payments not yet completed, failed or refunded, by age since created (lt_1m, 1m_to_5m, 5m_to_1h, ge_1h)', ['age'], (g, s) => {
    for (const [age, n] of Object.entries(s.backlog.paymentsPending)) g.set({ age }, n);
  });
  gauge('payments_oldest_pending_age_seconds', 'Age of the oldest pending payment; 0 when none is pending', [], (g, s) => g.set(s.backlog.oldestPendingPaymentAgeSeconds));
  gauge('outbox_events_undispatched', 'Webhook outbox events whose deliveries are not all created and started yet', [], (g, s) => g.set(s.backlog.outboxUndispatched));
  gauge('outbox_oldest_undispatched_age_seconds', 'Age of the oldest undispatched outbox event; 0 when none', [], (g, s) =>
    g.set(s.backlog.oldestUndispatchedAgeSeconds),
  );
  gauge('webhook_deliveries', 'Webhook deliveries pending (being tried or waiting for the next try) or dead (every attempt failed)', ['state'], (g, s) => {
    g.set({ state: 'pending' }, s.backlog.webhookDeliveries.pending);
    g.set({ state: 'dead' }, s.backlog.webhookDeliveries.dead);
  });
  gauge('webhook_oldest_pending_delivery_age_seconds', 'Age of the oldest pending webhook delivery since it was created; 0 when none', [], (g, s) =>
    g.set(s.backlog.oldestPendingDeliveryAgeSeconds),
  );
  if (deps.protection) {
    gauge(
      'provider_retry_budget_used_ratio',
      "Retries admitted in the retry budget's current window over the retries it allows, fleet-wide; at 1 further retries are deferred",
      ['provider'],
      (g, s) => {
        if (s.retryBudget) g.set({ provider: s.retryBudget.provider }, s.retryBudget.usedRatio);
      },
    );
  }
}

/** One short read-only transaction: a statement timeout on the server, the deadline on the client. */
async function readFleetState(deps: BacklogMetricsDeps, timeoutMs: number): Promise<FleetState> {
  return withConnectionBy(deps.pool, Date.now() + timeoutMs, async (run: Run) => {
    await run('BEGIN READ ONLY');
    await run(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    const backlog = await readBacklog(run);
    let retryBudget: FleetState['retryBudget'];
    if (deps.protection) {
      const { retries, allowed } = await deps.protection.retryBudgetUse(run);
      retryBudget = { provider: deps.protection.provider, usedRatio: allowed > 0 ? retries / allowed : 1 };
    }
    await run('COMMIT');
    return { backlog, retryBudget };
  });
}
