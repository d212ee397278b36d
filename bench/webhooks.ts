// `npm run bench:webhooks [-- --events N] [--workers W]`: webhook deliveries
// per second to a local receiver on this machine. The whole path after the
// outbox is real: the worker's dispatcher claims the events, starts one
// delivery workflow each on the Temporal dev server, the activity signs and
// POSTs, the receiver (in this process) verifies each signature. Events are
// written straight into the outbox, so checkouts do not share the machine.
// Ends with one line:
//   webhook deliveries: X/s with W worker(s) (N in T s); 1 M/h = 278/s needs ceil(278/X) such workers
import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DrillStack } from '../drills/drill-stack';
import { percentile } from '../drills/load';
import { freePort } from '../stack/free-port';
import { createWebhookReceiver } from '../webhook-receiver/receiver';

const log = (line: string) => console.log(`[bench:webhooks] ${line}`);
const ONE_MILLION_PER_HOUR = 1_000_000 / 3_600;

/** CPU seconds (user + system) a process has used so far, from /proc; 0 where /proc is missing. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // fields after the command name: utime and stime are the 12th and 13th
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function argNumber(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} takes a positive integer`);
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const events = argNumber(args, '--events', 2_000);
  const workers = argNumber(args, '--workers', 1);
  log(`${events} events, ${workers} worker(s), ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const stack = await DrillStack.start({
    log,
    workers,
    // the dispatcher takes big batches back to back; the production request timeout
    workerEnv: { WEBHOOK_DISPATCH_BATCH: '500', WEBHOOK_DISPATCH_INTERVAL_MS: '200' },
  });
  try {
    const port = await freePort();
    const res = await fetch(`${stack.apiUrl}/webhook-endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...stack.authHeaders() },
      body: JSON.stringify({ url: `http://127.0.0.1:${port}/webhooks`, events: ['payment.completed'] }),
    });
    if (res.status !== 201) throw new Error(`POST /webhook-endpoints answered ${res.status}`);
    const endpoint = (await res.json()) as { id: string; secret: string };
    const receiver = createWebhookReceiver({ secret: endpoint.secret });
    await receiver.listen(port);

    // CPU per delivery is the figure that survives a busy machine (other
    // processes take wall time, not the worker's CPU seconds)
    const workerPids = stack.workers.map((w) => w.service.child.pid);
    const temporalPid = stack.temporal.process.pid;
    const workersCpu = () => workerPids.map(cpuSeconds).reduce((a, b) => a + b, 0);
    const cpuBefore = { workers: workersCpu(), temporal: cpuSeconds(temporalPid) };
    // the events a burst of the merchant's completed checkouts would have committed, in one statement
    const t0 = Date.now();
    await stack.pool.query(
      `INSERT INTO webhook_events (id, merchant_id, type, payment_id, body)
       SELECT 'evt_bench_' || i, $2, 'payment.completed', 'pay_bench_' || i,
              json_build_object('type', 'payment.completed', 'timestamp', now(),
                                'data', json_build_object('payment_id', 'pay_bench_' || i, 'status', 'completed',
                                                          'amount_cents', 1000 + i, 'currency', 'USD'))::text
         FROM generate_series(1, $1) AS i`,
      [events, stack.merchantId],
    );
    log(`${events} events in the outbox; waiting for every delivery`);
    const count = async (sql: string) => Number((await stack.pool.query<{ n: number }>(sql)).rows[0]?.n ?? 0);
    let dispatchedMs = 0;
    let delivered = 0;
    let lastLog = Date.now();
    const deadline = Date.now() + 30 * 60_000;
    while (delivered < events) {
      if (Date.now() > deadline) throw new Error(`only ${delivered} of ${events} delivered after 30 min`);
      await sleep(250);
      delivered = await count(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'delivered'`);
      if (!dispatchedMs && (await count('SELECT count(*)::int AS n FROM webhook_events WHERE dispatched_at IS NULL')) === 0) {
        dispatchedMs = Date.now() - t0;
      }
      if (Date.now() - lastLog > 5_000) {
        log(`  ... ${delivered}/${events} delivered, ${((delivered * 1000) / (Date.now() - t0)).toFixed(1)}/s so far`);
        lastLog = Date.now();
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    const workerCpu = workersCpu() - cpuBefore.workers;
    const temporalCpu = cpuSeconds(temporalPid) - cpuBefore.temporal;
    const rate = events / seconds;
    const attempts = await stack.pool.query<{ duration_ms: number }>('SELECT duration_ms FROM webhook_delivery_attempts');
    const durations = attempts.rows.map((r) => r.duration_ms);
    const verified = new Set(receiver.received.map((w) => w.webhookId)).size;
    await receiver.close();
    console.log('');
    console.log(`  events                         ${events}`);
    console.log(`  workers                        ${workers}`);
    console.log(`  all dispatched after           ${(dispatchedMs / 1000).toFixed(1)} s`);
    console.log(`  all delivered after            ${seconds.toFixed(1)} s`);
    console.log(`  HTTP attempts                  ${attempts.rows.length} (p50 ${percentile(durations, 50)} ms, p99 ${percentile(durations, 99)} ms)`);
    console.log(`  verified by the receiver       ${verified} distinct, ${receiver.rejected.length} rejected`);
    console.log(`  load average after             ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const workerMsPerDelivery = (workerCpu * 1000) / events;
    const perCore = 1000 / workerMsPerDelivery;
    console.log(`  worker CPU                     ${workerCpu.toFixed(1)} s = ${workerMsPerDelivery.toFixed(2)} ms a delivery (dispatch included): ${perCore.toFixed(0)}/s per busy core`);
    console.log(`  Temporal dev server CPU        ${temporalCpu.toFixed(1)} s = ${((temporalCpu * 1000) / events).toFixed(2)} ms a delivery`);
    const needed = Math.ceil(ONE_MILLION_PER_HOUR / (rate / workers));
    const neededByCpu = Math.ceil(ONE_MILLION_PER_HOUR / perCore);
    console.log(
      `\nwebhook deliveries: ${rate.toFixed(1)}/s with ${workers} worker(s) (${events} in ${seconds.toFixed(1)} s, wall clock on this machine); ` +
        `1 M/h = ${ONE_MILLION_PER_HOUR.toFixed(0)}/s needs ${needed} such worker(s) at that rate, ` +
        `or ${neededByCpu} worker core(s) at ${workerMsPerDelivery.toFixed(2)} ms of worker CPU a delivery`,
    );
    if (verified !== events || receiver.rejected.length > 0) process.exitCode = 1;
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:webhooks failed: ${(err as Error).message}`);
  process.exit(1);
});
