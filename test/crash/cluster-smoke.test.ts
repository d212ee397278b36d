// The production topology's smoke (docs/design.md, "Running the stack"; the
// full drills are `npm run drill -- <name> --topology cluster`): Temporal's
// server proper on Postgres, set up from deploy/ as npm run start:cluster and
// docker-compose set it up, two workers, two apis and the round-robin front.
//  - a burst in which every checkout is sent to both apis at once with one
//    key, while one of the two workers is SIGKILLed: one charge a key, the
//    invariants every drill ends on hold, nothing is left running;
//  - the per-customer rate limit is one limit across both apis: the 11th
//    checkout of a minute is refused whichever api gets it.
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckoutClient, type CheckoutResult } from '../../client/checkout-client';
import { createPool, type Pool } from '../../db/pool';
import { checkInvariants } from '../../drills/invariants';
import { ClusterStack } from '../../stack/cluster-stack';
import { THROWAWAY_ENV } from '../../stack/env';
import { stubCharges } from '../support/stack';

const BURST = 24;
const RATE_LIMIT = 10;

let cluster: ClusterStack;
let pool: Pool;
let client: Client;
let apiKey: string;
const bootLines: string[] = [];

beforeAll(async () => {
  cluster = await ClusterStack.start({
    // the apis start checkouts through the task queue, so the worker processes run them (and one dies holding some)
    env: { ...THROWAWAY_ENV, RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT), API_EAGER_START: '0' },
    progress: (line) => bootLines.push(line),
    log: (line) => bootLines.push(line),
  }).catch((err: unknown) => {
    throw new Error(`the cluster did not start: ${(err as Error).message}\n${bootLines.join('\n')}`, { cause: err });
  });
  const key = cluster.local.apiKey;
  if (!key) throw new Error('the cluster made no development key');
  apiKey = key;
  pool = createPool(cluster.local.databaseUrl, 2);
  client = await cluster.local.temporalClient();
}, 600_000);

afterAll(async () => {
  await pool?.end().catch(() => undefined);
  await cluster?.stop();
}, 180_000);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the cluster: Temporal server on Postgres, two apis, two workers', () => {
  it('runs the server proper, not the dev server, with both apis and both workers up', async () => {
    const info = await client.workflowService.getSystemInfo({});
    expect(info.serverVersion).toMatch(/^1\.30\./);
    expect(cluster.apis).toHaveLength(2);
    expect(cluster.local.workers).toHaveLength(2);
    for (const url of [...cluster.apiUrls, cluster.frontUrl]) {
      expect((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) })).status, url).toBe(200);
    }
  });

  it('charges once per key when each checkout goes to both apis at once and a worker is killed mid-burst', async () => {
    const clients = cluster.apiUrls.map((baseUrl) => createCheckoutClient({ baseUrl, apiKey, totalTimeoutMs: 120_000, maxAttempts: 20 }));
    const run = Date.now().toString(36);
    const keys = Array.from({ length: BURST }, (_, i) => `smoke-${run}-${i}`);
    const results: Promise<CheckoutResult[]>[] = keys.map(async (key, i) => {
      const request = { customer_id: `smoke-${run}-c${i}`, amount_cents: 1_000 + i, currency: 'USD', payment_method_id: 'pm_card_visa' };
      return Promise.all(clients.map((c) => c.checkout(request, { idempotencyKey: key })));
    });

    // a crash, not a shutdown, once the burst is under way; the other worker carries on alone
    await waitFor('the first charges', async () => (await stubCharges({ url: cluster.local.stubUrl })).length >= 3, 60_000);
    const victim = cluster.local.workers[0]!;
    victim.service.child.kill('SIGKILL');
    await victim.service.exited;
    const chargedAtKill = (await stubCharges({ url: cluster.local.stubUrl })).filter((c) => c.idempotency_key.includes(`smoke-${run}-`)).length;
    expect(chargedAtKill, 'the kill came after the burst had ended').toBeLessThan(BURST);

    const answers = await Promise.all(results);
    for (const [i, pair] of answers.entries()) {
      expect(pair.map((r) => r.status), keys[i]).toEqual(['completed', 'completed']);
      // both apis answer with the one payment the key made
      expect(pair[0]!.paymentId, keys[i]).toBe(pair[1]!.paymentId);
    }

    const charges = (await stubCharges({ url: cluster.local.stubUrl })).filter((c) => c.idempotency_key.includes(`smoke-${run}-`));
    expect(charges).toHaveLength(BURST);
    expect(new Set(charges.map((c) => c.idempotency_key)).size).toBe(BURST);

    const report = await checkInvariants({ pool, stubUrl: cluster.local.stubUrl, client });
    expect(report.violations).toEqual([]);
    expect(report.counts.openWorkflows).toBe(0);
  }, 240_000);

  it('refuses the 11th checkout of a customer in a minute whichever api gets it', async () => {
    const customer = `smoke-limit-${Date.now().toString(36)}`;
    const post = async (url: string, i: number) => {
      const res = await fetch(`${url}/checkout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': `${customer}-${i}` },
        body: JSON.stringify({ customer_id: customer, amount_cents: 500, currency: 'USD', payment_method_id: 'pm_card_visa' }),
        signal: AbortSignal.timeout(15_000),
      });
      await res.body?.cancel();
      return res.status;
    };
    const [first, second] = cluster.apiUrls;
    const accepted: number[] = [];
    // alternating: five on each api, all within the one limit of ten
    for (let i = 0; i < RATE_LIMIT; i += 1) accepted.push(await post(i % 2 === 0 ? first : second, i));
    expect(accepted.every((s) => s === 201 || s === 202), accepted.join(' ')).toBe(true);
    expect(await post(first, RATE_LIMIT)).toBe(429);
    expect(await post(second, RATE_LIMIT + 1)).toBe(429);
  }, 120_000);
});
