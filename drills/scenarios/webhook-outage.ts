// Issue 8: the merchant's endpoint is down while payments happen (and every
// worker is SIGKILLed once along the way), then it comes back: every payment
// event is delivered at least once, every signature verifies, none is lost.
import { setTimeout as sleep } from 'node:timers/promises';
import { createWebhookReceiver } from '../../webhook-receiver/receiver';
import { freePort } from '../../stack/free-port';
import type { Drill } from '../drill';
import { drive, logicalCheckouts, tally } from '../load';

// --short compresses the schedule through the worker's configuration; the
// full run uses minutes, still short of the production 5 s ... 24 h.
const SCHEDULES = { short: '1s,2s,4s,8s,15s,20s,30s,30s,30s', full: '5s,30s,1m,2m,3m,5m,5m,5m,5m' };

export const webhookOutage: Drill = {
  name: 'webhook-outage',
  summary: "the merchant's webhook endpoint is down during payments, then back: every event delivered, every signature valid, none lost",
  fullDuration: 'about 5 min',
  async run({ short, log, startStack }) {
    const n = short ? 60 : 300;
    const outageMs = short ? 15_000 : 120_000;
    const deliverTimeoutMs = short ? 120_000 : 10 * 60_000;
    const stack = await startStack({
      workers: 2,
      workerEnv: {
        WEBHOOK_RETRY_SCHEDULE: short ? SCHEDULES.short : SCHEDULES.full,
        WEBHOOK_DISPATCH_INTERVAL_MS: '500',
        // a SIGKILLed worker's claimed events are free again after this
        WEBHOOK_DISPATCH_LEASE_MS: '5000',
        WEBHOOK_REQUEST_TIMEOUT_MS: '3000',
      },
    });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/webhooks`;
    const created = await fetch(`${stack.apiUrl}/webhook-endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...stack.authHeaders() },
      body: JSON.stringify({ url, events: ['payment.completed', 'payment.failed', 'payment.refunded'] }),
    });
    if (created.status !== 201) throw new Error(`POST /webhook-endpoints answered ${created.status}`);
    const endpoint = (await created.json()) as { id: string; secret: string };
    const receiver = createWebhookReceiver({ secret: endpoint.secret });
    log(`endpoint ${endpoint.id} -> ${url}: DOWN (nothing listens) for ${outageMs / 1000} s; retry schedule ${short ? SCHEDULES.short : SCHEDULES.full}`);

    const outageStarted = Date.now();
    // one in six declined: payment.failed events too
    const items = logicalCheckouts(n, 'webhook', (i) => (i % 6 === 5 ? { request: { customer_id: `cust_${i % 50}`, amount_cents: 500, currency: 'USD', payment_method_id: 'pm_declined' } } : {}));
    const load = await drive(stack, items, { concurrency: 8, log });
    await stack.waitUntilSettled(120_000);
    const killed = await stack.killWorkers();
    log(`SIGKILLed ${killed} worker(s) with the endpoint still down; starting 2 fresh`);
    await Promise.all([stack.startWorker(), stack.startWorker()]);
    await sleep(Math.max(0, outageMs - (Date.now() - outageStarted)));

    await receiver.listen(port);
    const upAt = Date.now();
    log(`endpoint UP after ${((upAt - outageStarted) / 1000).toFixed(1)} s; waiting for every event to be delivered`);

    const failures: string[] = [];
    const count = async (sql: string): Promise<number> => Number((await stack.pool.query<{ n: number }>(sql)).rows[0]?.n ?? 0);
    const undelivered = () =>
      count(`SELECT count(*)::int AS n FROM webhook_events ev
              WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                                 WHERE d.event_id = ev.id AND d.endpoint_id = '${endpoint.id}' AND d.status = 'delivered')`);
    let lastLog = Date.now();
    let left = await undelivered();
    while (left > 0 && Date.now() - upAt < deliverTimeoutMs) {
      await sleep(500);
      left = await undelivered();
      if (Date.now() - lastLog > 5_000) {
        log(`  ... ${left} events not delivered yet`);
        lastLog = Date.now();
      }
    }
    const drainedMs = Date.now() - upAt;
    await receiver.close();

    const terminal = await count(`SELECT count(*)::int AS n FROM payments WHERE status IN ('completed', 'failed', 'refunded')`);
    const eventsByType = (await stack.pool.query<{ type: string; n: number }>('SELECT type, count(*)::int AS n FROM webhook_events GROUP BY type ORDER BY type')).rows;
    const events = eventsByType.reduce((sum, r) => sum + r.n, 0);
    const eventIds = new Set((await stack.pool.query<{ id: string }>('SELECT id FROM webhook_events')).rows.map((r) => r.id));
    const missingEvents = await count(
      `SELECT count(*)::int AS n FROM payments p WHERE p.status IN ('completed', 'failed', 'refunded')
          AND NOT EXISTS (SELECT 1 FROM webhook_events ev WHERE ev.payment_id = p.payment_id AND ev.type = 'payment.' || p.status)`,
    );
    const undispatched = await count('SELECT count(*)::int AS n FROM webhook_events WHERE dispatched_at IS NULL');
    const dead = await count(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'dead'`);
    const attempts = await count('SELECT count(*)::int AS n FROM webhook_delivery_attempts');
    const refusedWhileDown = await count('SELECT count(*)::int AS n FROM webhook_delivery_attempts WHERE status_code IS NULL');
    const receivedIds = new Set(receiver.received.map((w) => w.webhookId));
    const notReceived = [...eventIds].filter((id) => !receivedIds.has(id));
    const copies = receiver.received.filter((w) => !w.firstTime).length;

    if (load.errors.length > 0) failures.push(`${load.errors.length} checkouts gave up: ${load.errors[0]}`);
    if (missingEvents > 0) failures.push(`${missingEvents} terminal payments have no webhook event (lost at the outbox)`);
    if (events !== terminal) failures.push(`${events} events for ${terminal} terminal payments`);
    if (left > 0) failures.push(`${left} events still undelivered ${(deliverTimeoutMs / 1000).toFixed(0)} s after the endpoint came back`);
    if (notReceived.length > 0) failures.push(`${notReceived.length} events never reached the receiver (e.g. ${notReceived[0]})`);
    if (receiver.rejected.length > 0) failures.push(`${receiver.rejected.length} deliveries failed verification: ${receiver.rejected[0]?.reason}`);
    if (undispatched > 0) failures.push(`${undispatched} events never dispatched`);
    if (dead > 0) failures.push(`${dead} deliveries dead-lettered during an outage shorter than the schedule`);
    if (refusedWhileDown === 0) failures.push('no attempt hit the endpoint while it was down: the drill proved nothing');

    return {
      rows: [
        ['logical checkouts', n],
        ['outcomes', JSON.stringify(tally(load.results))],
        ['events in the outbox', `${events} (${eventsByType.map((r) => `${r.type} ${r.n}`).join(', ')}) for ${terminal} terminal payments`],
        ['endpoint down for', `${((upAt - outageStarted) / 1000).toFixed(1)} s (through the whole load, and at least ${outageMs / 1000} s), every worker SIGKILLed once during it`],
        ['HTTP attempts in all', attempts],
        ['attempts refused while down', refusedWhileDown],
        ['events received and verified', `${eventIds.size - notReceived.length} of ${eventIds.size}`],
        ['copies received (at-least-once, deduped by webhook-id)', copies],
        ['signatures that failed verification', receiver.rejected.length],
        ['dead letters', dead],
        ['all delivered after the endpoint came back in', `${(drainedMs / 1000).toFixed(1)} s`],
      ],
      failures,
    };
  },
};
