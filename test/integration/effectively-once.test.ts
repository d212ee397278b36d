// The idempotency contract under duplicates, races and lost responses,
// proven by counting side effects at the stub and in the ledger.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkoutWorkflowId } from '../../domain/ids';
import { authHeaders, checkoutBody, postCheckout, postCheckoutUntilFinal, startTestStack, stubCharges, uniqueKey, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  // These tests are about idempotency under faults, not provider protection:
  // the breaker and retry budget are set out of reach (test/fail-fast.test.ts covers them).
  stack = await startTestStack({
    protection: { breaker: { minVolume: 1_000_000 }, retryBudget: { minPerWindow: 1_000_000 } },
  });
});

afterAll(async () => {
  await stack?.stop();
});

afterEach(async () => {
  await setFaults({ mode: 'ok', fail_rate: null, latency_ms: 0 });
});

async function setFaults(faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.stub.url}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  expect(res.status).toBe(200);
}

async function stubStats(): Promise<{ attempts: number; charges_applied: number; replays: number; faults_injected: number }> {
  return (await (await fetch(`${stack.stub.url}/stats`)).json()) as { attempts: number; charges_applied: number; replays: number; faults_injected: number };
}

async function chargesFor(keys: string[]): Promise<Map<string, number>> {
  const providerKeys = new Map(keys.map((k) => [`${checkoutWorkflowId(stack.merchant.merchantId, k)}:charge`, k]));
  const counts = new Map<string, number>();
  for (const charge of await stubCharges(stack.stub)) {
    const key = providerKeys.get(charge.idempotency_key);
    if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Runs tasks with at most `limit` in flight. */
async function inParallel<T>(items: T[], limit: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        await run(items[index] as T, index);
      }
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

describe('replays', () => {
  it('a replay returns the original body byte for byte', async () => {
    const key = uniqueKey('bytes');
    const send = () =>
      fetch(`${stack.api.url}/checkout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key, ...authHeaders(stack.api) },
        body: JSON.stringify(checkoutBody({ amount_cents: 1234 })),
      });
    const first = await send();
    const firstText = await first.text();
    const again = await send();
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(firstText);
  });
});

describe('concurrency', () => {
  it('20 concurrent duplicates: one payment_id, one charge at the stub, one ledger posting', async () => {
    const key = uniqueKey('twenty');
    const answers = await Promise.all(Array.from({ length: 20 }, () => postCheckout(stack.api, key, checkoutBody({ amount_cents: 2020 }))));

    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
    expect(new Set(answers.map((a) => a.body.payment_id)).size).toBe(1);
    expect((await chargesFor([key])).get(key)).toBe(1);
    const postings = await stack.pool.query('SELECT count(*)::int AS n FROM ledger_transactions WHERE workflow_id = $1', [checkoutWorkflowId(stack.merchant.merchantId, key)]);
    expect(postings.rows[0].n).toBe(1);
  });

  it('two different bodies racing on one key: exactly one runs, the other gets 422', async () => {
    const key = uniqueKey('race');
    const [a, b] = await Promise.all([
      postCheckout(stack.api, key, checkoutBody({ amount_cents: 1111 })),
      postCheckout(stack.api, key, checkoutBody({ amount_cents: 2222 })),
    ]);
    expect([a?.status, b?.status].sort()).toEqual([201, 422]);
    const winner = a?.status === 201 ? a : b;
    const charges = (await stubCharges(stack.stub)).filter((c) => c.idempotency_key === `${checkoutWorkflowId(stack.merchant.merchantId, key)}:charge`);
    expect(charges).toHaveLength(1);
    expect(charges[0]?.amount_cents).toBe(winner?.body.amount_cents);
  });
});

describe('lost responses', () => {
  it('the provider applies the charge and drops the connection: the retry hits its idempotency, one charge each', async () => {
    await setFaults({ mode: 'lost_response', fail_rate: 0.5 });
    const before = await stubStats();
    const keys = Array.from({ length: 20 }, () => uniqueKey('lost'));
    const statuses: number[] = [];
    await inParallel(keys, 5, async (key) => {
      statuses.push((await postCheckout(stack.api, key, checkoutBody())).status);
    });
    // Several lost answers in a row can outlast the 3 s api budget (202): wait for those runs to end.
    const outcomes = await Promise.all(keys.map((k) => stack.client.workflow.getHandle(checkoutWorkflowId(stack.merchant.merchantId, k)).result()));
    const after = await stubStats();

    expect(statuses.filter((s) => s !== 201 && s !== 202)).toEqual([]);
    expect(outcomes.map((o) => o.outcome)).toEqual(keys.map(() => 'completed'));
    expect(after.faults_injected - before.faults_injected).toBeGreaterThan(0); // some responses really were lost
    expect(after.replays - before.replays).toBe(after.faults_injected - before.faults_injected); // each lost one was replayed once
    const counts = await chargesFor(keys);
    expect(keys.map((k) => counts.get(k))).toEqual(keys.map(() => 1));
    // a long streak of lost answers for one key backs off toward the 30 s cap (full jitter)
  }, 180_000);
});

describe('a burst of duplicates', () => {
  it('200 logical checkouts, each sent 1-5 times, some in parallel: 200 charges, 200 postings, books balanced', async () => {
    const before = await stubStats();
    const logical = Array.from({ length: 200 }, (_, i) => ({
      key: uniqueKey(`burst-${i}`),
      copies: 1 + (i % 5),
      parallel: i % 2 === 0,
      body: checkoutBody({ customer_id: `cust_burst_${i % 17}`, amount_cents: 100 + i }),
    }));
    const statusCounts = new Map<number, number>();
    let requests = 0;
    const created = new Map<string, number>(); // 201s per key
    const record = (key: string, answer: { status: number; body: unknown }) => {
      statusCounts.set(answer.status, (statusCounts.get(answer.status) ?? 0) + 1);
      if (answer.status === 201) created.set(key, (created.get(key) ?? 0) + 1);
      if (answer.status >= 300) console.log(`[burst] unexpected answer ${answer.status}: ${JSON.stringify(answer.body)}`);
    };
    const started = Date.now();
    await inParallel(logical, 16, async ({ key, copies, parallel, body }) => {
      requests += copies;
      if (parallel) {
        for (const answer of await Promise.all(Array.from({ length: copies }, () => postCheckout(stack.api, key, body)))) record(key, answer);
      } else {
        for (let i = 0; i < copies; i += 1) record(key, await postCheckout(stack.api, key, body));
      }
    });
    const burstMs = Date.now() - started;

    // every answer is a success, a replay of one, a 202 when a busy machine passed the 3 s budget,
    // or a 503 when it could not get a Postgres connection or start the workflow in time
    expect([...statusCounts.keys()].filter((s) => ![200, 201, 202, 503].includes(s))).toEqual([]);
    // never two first-execution answers (201) for one key
    const keysOf = logical.map((l) => l.key);
    expect(keysOf.filter((k) => (created.get(k) ?? 0) > 1)).toEqual([]);
    // a client retries 202s and 503s with the same key: every checkout ends completed
    for (const { key, body } of logical) {
      if (created.has(key)) continue;
      expect((await postCheckoutUntilFinal(stack.api, key, body)).body.status).toBe('completed');
    }
    const after = await stubStats();
    const keys = logical.map((l) => l.key);
    const counts = await chargesFor(keys);
    expect(keys.filter((k) => counts.get(k) !== 1)).toEqual([]);
    const postings = await stack.pool.query(
      'SELECT count(*)::int AS n FROM ledger_transactions WHERE workflow_id = ANY($1)',
      [keys.map((k) => checkoutWorkflowId(stack.merchant.merchantId, k))],
    );
    expect(postings.rows[0].n).toBe(200);
    const imbalance = await stack.pool.query(
      `SELECT coalesce(sum(CASE direction WHEN 'debit' THEN amount_cents ELSE -amount_cents END), 0)::bigint AS cents FROM ledger_entries`,
    );
    expect(imbalance.rows[0].cents).toBe(0);

    // replay latency: one indexed read, no Temporal call
    const latencies: number[] = [];
    for (const { key, body } of logical) {
      const t = performance.now();
      const res = await postCheckout(stack.api, key, body);
      latencies.push(performance.now() - t);
      expect(res.status).toBe(200);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `[burst] logical=200 requests=${requests} in ${burstMs} ms; answers ${JSON.stringify(Object.fromEntries(statusCounts))}; ` +
        `stub charges_applied=${after.charges_applied - before.charges_applied} replays=${after.replays - before.replays} attempts=${after.attempts - before.attempts}; ` +
        `ledger transactions=${postings.rows[0].n} imbalance=${imbalance.rows[0].cents} cents; ` +
        `replay latency p50=${percentile(latencies, 50).toFixed(1)} ms p99=${percentile(latencies, 99).toFixed(1)} ms max=${latencies.at(-1)?.toFixed(1)} ms`,
    );
  }, 180_000);
});
