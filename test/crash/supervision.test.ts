// npm start supervises what it started, as docker-compose's restart policy
// does: a worker or an api that dies is started again (with backoff, and a
// line saying what died and how), and the stack stops only on Ctrl-C or when
// a part keeps dying. Black box: `npm start` from this checkout on free ports,
// the worker and the api SIGKILLed twice each in the middle of a burst sent
// with the bundled client (same key on 503 and connection errors); every
// checkout completes, with one provider charge per key.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCheckoutClient, type CheckoutResult } from '../../client/checkout-client';
import { checkoutWorkflowId } from '../../domain/ids';
import { DEV_MERCHANT_ID } from '../../stack/dev-api-key';
import { stubCharges } from '../support/stack';
import { devApiKeyIn, freeStartPorts, NpmStart, startEnv, waitGroupGone } from './npm-start';

const ROOT = path.resolve(__dirname, '..', '..');

async function waitForHealthy(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not healthy within 60 s`);
}

async function chargesApplied(stubUrl: string): Promise<number> {
  const res = await fetch(`${stubUrl}/stats`, { signal: AbortSignal.timeout(5_000) });
  return ((await res.json()) as { charges_applied: number }).charges_applied;
}

/** Waits until the stub has applied more than `than` charges: the stack serves checkouts. */
async function chargedMoreThan(stubUrl: string, than: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await chargesApplied(stubUrl).catch(() => -1);
    if (n > than) return n;
    if (Date.now() > deadline) throw new Error(`the stub applied no more than ${than} charges within ${timeoutMs / 1000} s (now ${n})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until done() holds, or fails naming what it waited for. */
async function waitUntil(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('npm start supervision', () => {
  let start: NpmStart | undefined;
  const starts: NpmStart[] = [];
  const dataDirs: string[] = [];

  /** npm start from this checkout on free ports, with a data directory of its own, up. */
  async function startStack(env: Record<string, string> = {}): Promise<{ start: NpmStart; apiUrl: string; apiKey: string; stubUrl: string }> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-supervision-'));
    dataDirs.push(dataDir);
    fs.chmodSync(dataDir, 0o755); // as root, Postgres runs as the postgres user, who must reach it
    const ports = await freeStartPorts();
    const started = NpmStart.spawn(ROOT, startEnv(ports, { DATA_DIR: dataDir, ...env }));
    starts.push(started);
    await started.waitFor(/\[start\] the stack is up/, 360_000, 'the stack coming up');
    // the development key this npm start made and kept in its data directory
    return { start: started, apiUrl: `http://127.0.0.1:${ports.api}`, apiKey: devApiKeyIn(dataDir), stubUrl: `http://127.0.0.1:${ports.stub}` };
  }

  afterAll(async () => {
    for (const s of starts) {
      s.killAll();
      await waitGroupGone(s.pgid, 15_000);
    }
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('restarts the worker and the api after SIGKILL, twice each, mid-burst: every checkout completes once', async () => {
    // a provider latency keeps charges in flight when the kills land
    const up = await startStack({ LATENCY_MS: '150', RATE_LIMIT_PER_MINUTE: '1000000' });
    const { apiUrl, apiKey, stubUrl } = up;
    start = up.start;

    // the burst: the bundled client, one key per logical checkout, 6 at a time, until the kills are over
    const client = createCheckoutClient({ baseUrl: apiUrl, apiKey, maxAttempts: 40, totalTimeoutMs: 300_000, requestTimeoutMs: 10_000 });
    const run = crypto.randomUUID().slice(0, 8);
    const keys: string[] = [];
    const results: CheckoutResult[] = [];
    const errors: string[] = [];
    let feeding = true;
    const feed = Promise.all(
      Array.from({ length: 6 }, async () => {
        while (feeding && keys.length < 2_000) {
          const i = keys.length;
          const key = `supervision-${run}-${i}`;
          keys.push(key);
          const request = { customer_id: `cust_${i % 20}`, amount_cents: 100 + i, currency: 'USD', payment_method_id: 'pm_card_visa' };
          try {
            results.push(await client.checkout(request, { idempotencyKey: key }));
          } catch (err) {
            errors.push(`${key}: ${(err as Error).message}`);
          }
        }
      }),
    );

    let killsDone = false;
    try {
      let charged = await chargedMoreThan(stubUrl, 5, 60_000);
      const plan: Array<['worker' | 'api', string]> = [
        ['worker', 'worker/main.ts'],
        ['api', 'api/main.ts'],
        ['worker', 'worker/main.ts'],
        ['api', 'api/main.ts'],
      ];
      for (const [part, entry] of plan) {
        const running = start.pids(entry);
        expect(running, `${part} processes before the kill`).toHaveLength(1);
        const restarted = new RegExp(`\\[start\\] ${part} restarted`);
        const restartsBefore = start.countStartLines(restarted);
        process.kill(running[0] as number, 'SIGKILL');
        // started again by npm start and ready (a new process alone is not: the next kill would land
        // while it starts, and charges alone do not tell, since the api charges without a worker),
        // then serving: more charges than before the kill
        await start.waitForPid(entry, running, 90_000);
        const npm = start;
        await waitUntil(() => npm.countStartLines(restarted) > restartsBefore, 90_000, `npm start to report the ${part} restarted`);
        charged = await chargedMoreThan(stubUrl, charged + 3, 120_000);
      }
      killsDone = true;
    } finally {
      feeding = false;
      // after a failure the clients would retry into a stack that is gone for minutes: do not wait for them
      if (killsDone) await feed;
    }

    expect(errors, errors.slice(0, 3).join('\n')).toEqual([]);
    expect(results.filter((r) => r.status !== 'completed').map((r) => `${r.idempotencyKey}: ${r.status}`)).toEqual([]);
    expect(results).toHaveLength(keys.length);

    // one provider charge per key, none refunded, nothing else charged
    const charges = await stubCharges({ url: stubUrl });
    const perKey = new Map<string, number>();
    for (const c of charges) perKey.set(c.idempotency_key, (perKey.get(c.idempotency_key) ?? 0) + 1);
    expect(keys.filter((k) => perKey.get(`${checkoutWorkflowId(DEV_MERCHANT_ID, k)}:charge`) !== 1)).toEqual([]);
    expect(charges).toHaveLength(keys.length);
    expect(charges.filter((c) => c.refunded)).toEqual([]);

    // npm start said what died, how, and that it restarted it
    console.log(start.startLines().filter((line) => /restart|died/.test(line)).join('\n'));
    expect(start.countStartLines(/\[start\] worker \(pid \d+\) was killed by SIGKILL; restarting it in/)).toBe(2);
    expect(start.countStartLines(/\[start\] api \(pid \d+\) was killed by SIGKILL; restarting it in/)).toBe(2);

    start.interrupt();
    await Promise.race([start.exited, new Promise((r) => setTimeout(r, 60_000))]);
    const left = await waitGroupGone(start.pgid, 30_000);
    expect(left.map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);
  }, 900_000);

  it('gives up on a part that keeps dying: one line, and the whole stack stops', async () => {
    const { start, stubUrl } = await startStack();
    const entry = 'payments-stub/main.ts';
    let killed: number[] = [];
    for (let i = 1; i <= 5; i += 1) {
      const pid = i === 1 ? start.pids(entry)[0] : await start.waitForPid(entry, killed, 60_000);
      if (pid === undefined) throw new Error('no payments-stub process');
      // up again, as npm start sees it (its "restarted" line) and answering, before each kill
      if (i > 1) {
        await start.waitFor(new RegExp(`payments-stub restarted \\(pid ${pid},`), 60_000, `payments-stub ${pid} restarted`);
        await waitForHealthy(stubUrl);
      }
      process.kill(pid, 'SIGKILL');
      killed = [...killed, pid];
    }
    const exited = await Promise.race([start.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    expect(exited, start.tail()).toMatchObject({ code: 1 });
    const gaveUp = start.startLines().filter((line) => /died 5 times/.test(line));
    console.log(gaveUp.join('\n'));
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatch(/payments-stub died 5 times within 60 s \(last: was killed by SIGKILL\).*stopping the stack/);
    expect(start.countStartLines(/\[start\] payments-stub \(pid \d+\) was killed by SIGKILL; restarting it in/)).toBe(4);
    const left = await waitGroupGone(start.pgid, 30_000);
    expect(left.map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);
  }, 600_000);
});
