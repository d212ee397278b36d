// What is waiting, read in one statement for the backlog gauges
// (worker/backlog-metrics.ts): pending payments by age, the webhook outbox not
// yet dispatched, deliveries pending or dead. Each part reads a partial or
// status index (006_payment_start_attempts.sql, 004_webhooks.sql).
import type { Run } from './deadline';

export interface Backlog {
  paymentsPending: { lt_1m: number; '1m_to_5m': number; '5m_to_1h': number; ge_1h: number };
  /** 0 when none is pending; likewise the other ages. */
  oldestPendingPaymentAgeSeconds: number;
  outboxUndispatched: number;
  oldestUndispatchedAgeSeconds: number;
  webhookDeliveries: { pending: number; dead: number };
  oldestPendingDeliveryAgeSeconds: number;
}

interface BacklogRow {
  lt_1m: number;
  m1_to_5m: number;
  m5_to_1h: number;
  ge_1h: number;
  oldest_payment_s: number;
  undispatched: number;
  oldest_event_s: number;
  deliveries_pending: number;
  deliveries_dead: number;
  oldest_delivery_s: number;
}

const BACKLOG_SQL = `
SELECT p.*, e.*, d.*
  FROM (SELECT count(*) FILTER (WHERE created_at > now() - interval '1 minute')::int AS lt_1m,
               count(*) FILTER (WHERE created_at <= now() - interval '1 minute' AND created_at > now() - interval '5 minutes')::int AS m1_to_5m,
               count(*) FILTER (WHERE created_at <= now() - interval '5 minutes' AND created_at > now() - interval '1 hour')::int AS m5_to_1h,
               count(*) FILTER (WHERE created_at <= now() - interval '1 hour')::int AS ge_1h,
               coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_payment_s
          FROM payments WHERE status = 'pending') p,
       (SELECT count(*)::int AS undispatched,
               coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_event_s
          FROM webhook_events WHERE dispatched_at IS NULL) e,
       (SELECT count(*) FILTER (WHERE status = 'pending')::int AS deliveries_pending,
               count(*) FILTER (WHERE status = 'dead')::int AS deliveries_dead,
               coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending')), 0)::float8 AS oldest_delivery_s
          FROM webhook_deliveries WHERE status IN ('pending', 'dead')) d`;

export async function readBacklog(run: Run): Promise<Backlog> {
  const row = (await run<BacklogRow>(BACKLOG_SQL)).rows[0];
  if (!row) throw new Error('the backlog query returned no row');
  return {
    paymentsPending: { lt_1m: row.lt_1m, '1m_to_5m': row.m1_to_5m, '5m_to_1h': row.m5_to_1h, ge_1h: row.ge_1h },
    oldestPendingPaymentAgeSeconds: Math.max(0, row.oldest_payment_s),
    outboxUndispatched: row.undispatched,
    oldestUndispatchedAgeSeconds: Math.max(0, row.oldest_event_s),
    webhookDeliveries: { pending: row.deliveries_pending, dead: row.deliveries_dead },
    oldestPendingDeliveryAgeSeconds: Math.max(0, row.oldest_delivery_s),
  };
}
