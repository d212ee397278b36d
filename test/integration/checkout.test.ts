// Black-box: HTTP into the api, then the stub's own charges, the ledger and
// the workflow history. Every part is real (see test/support/stack.ts).
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutWorkflowId } from '../../domain/ids';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { authHeaders, checkoutBody, metricValue, postCheckout, startTestStack, stubCharges, uniqueKey, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

/** One series of the api's metrics; 0 when absent. */
function metric(series: string): Promise<number> {
  return metricValue(stack.api, series);
}

/** The api's count of checkout workflows started eagerly. */
function eagerStarts(): Promise<number> {
  return metric('checkout_workflow_starts_total{start="eager"}');
}

async function ledgerPostingsFor(paymentId: string): Promise<number> {
  const res = await stack.pool.query('SELECT count(*)::int AS n FROM ledger_transactions WHERE payment_id = $1', [paymentId]);
  return res.rows[0].n as number;
}

describe('POST /checkout, happy path', () => {
  it('answers 201 with the contract body, charges once and posts a balanced ledger entry', async () => {
    const key = uniqueKey('happy');
    const res = await postCheckout(stack.api, key, checkoutBody({ amount_cents: 2599, currency: 'EUR' }));

    expect(res.status).toBe(201);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(Object.keys(res.body).sort()).toEqual(
      ['amount_cents', 'created_at', 'currency', 'payment_id', 'provider_charge_id', 'status'].sort(),
    );
    expect(res.body).toMatchObject({ status: 'completed', amount_cents: 2599, currency: 'EUR' });
    expect(res.body.payment_id).toMatch(/^pay_/);
    expect(res.body.provider_charge_id).toMatch(/^ch_/);
    expect(Number.isNaN(Date.parse(res.body.created_at))).toBe(false);

    const charges = (await stubCharges(stack.stub)).filter((c) => c.idempotency_key === `${checkoutWorkflowId(stack.merchant.merchantId, key)}:charge`);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ id: res.body.provider_charge_id, amount_cents: 2599, currency: 'EUR' });

    expect(await ledgerPostingsFor(res.body.payment_id)).toBe(1);
    const entries = await stack.pool.query(
      `SELECT e.account_code, e.direction, e.amount_cents, e.currency
         FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.payment_id = $1 ORDER BY e.direction`,
      [res.body.payment_id],
    );
    expect(entries.rows).toEqual([
      { account_code: 'merchant_payable', direction: 'credit', amount_cents: 2599, currency: 'EUR' },
      { account_code: 'provider_clearing', direction: 'debit', amount_cents: 2599, currency: 'EUR' },
    ]);
  });

  it('GET /payments/{id} shows the completed payment; an unknown id is 404', async () => {
    const created = await postCheckout(stack.api, uniqueKey('get'), checkoutBody({ amount_cents: 750 }));
    expect(created.status).toBe(201);

    const res = await fetch(`${stack.api.url}/payments/${created.body.payment_id}`, { headers: authHeaders(stack.api) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      payment_id: created.body.payment_id,
      status: 'completed',
      amount_cents: 750,
      currency: 'USD',
      provider_charge_id: created.body.provider_charge_id,
      created_at: created.body.created_at,
    });

    const missing = await fetch(`${stack.api.url}/payments/pay_does_not_exist`, { headers: authHeaders(stack.api) });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('a replay of the same key and body answers 200 with the original body and charges nothing more', async () => {
    const key = uniqueKey('replay');
    const first = await postCheckout(stack.api, key, checkoutBody());
    expect(first.status).toBe(201);
    // the same body, fields in another order and other whitespace
    const again = await postCheckout(
      stack.api,
      key,
      '{ "payment_method_id": "pm_card_visa", "currency": "USD",   "amount_cents": 1999, "customer_id": "cust_test" }',
    );
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const charges = (await stubCharges(stack.stub)).filter((c) => c.idempotency_key === `${checkoutWorkflowId(stack.merchant.merchantId, key)}:charge`);
    expect(charges).toHaveLength(1);
  });

  it('concurrent duplicates attach to one execution: one charge, one posting, every answer the same payment', async () => {
    const key = uniqueKey('concurrent');
    const answers = await Promise.all(Array.from({ length: 5 }, () => postCheckout(stack.api, key, checkoutBody({ amount_cents: 4321 }))));

    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 201]);
    const paymentIds = new Set(answers.map((a) => a.body.payment_id));
    expect(paymentIds.size).toBe(1);
    for (const a of answers) expect(a.body).toEqual(answers[0]?.body);
    const charges = (await stubCharges(stack.stub)).filter((c) => c.idempotency_key === `${checkoutWorkflowId(stack.merchant.merchantId, key)}:charge`);
    expect(charges).toHaveLength(1);
    expect(await ledgerPostingsFor(answers[0]?.body.payment_id)).toBe(1);
  });

  it('starts eagerly on the api\'s worker and runs as one workflow task: every step a local activity, no activity task', async () => {
    const startsBefore = await eagerStarts();
    const recordedBefore = await metric('checkout_outcome_sources_total{source="recorded"}');
    const key = uniqueKey('one-task');
    const res = await postCheckout(stack.api, key, checkoutBody({ amount_cents: 1501 }));

    expect(res.status).toBe(201);
    expect(await eagerStarts()).toBe(startsBefore + 1);
    // the answer came from the worker's commit in this process, not the result's long poll
    expect(await metric('checkout_outcome_sources_total{source="recorded"}')).toBe(recordedBefore + 1);
    // answered at the commit: the workflow completes just after (the notification, then the task's completion)
    const handle = stack.client.workflow.getHandle(checkoutWorkflowId(stack.merchant.merchantId, key));
    await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(0);
    expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toHaveLength(4);
  });

  it('an eager start keeps the ID policies: a replay after the run closed starts nothing (no eager start, no second run)', async () => {
    const key = uniqueKey('eager-replay');
    const first = await postCheckout(stack.api, key, checkoutBody({ amount_cents: 1502 }));
    expect(first.status).toBe(201);
    const workflowId = checkoutWorkflowId(stack.merchant.merchantId, key);
    const firstRun = (await stack.client.workflow.getHandle(workflowId).describe()).runId;
    // the stored answer is found before any start; delete it so the replay must go through Temporal
    await stack.pool.query('UPDATE payments SET response = NULL, response_status = NULL, status = $2 WHERE payment_id = $1', [first.body.payment_id, 'pending']);
    const startsBefore = await eagerStarts();
    const again = await postCheckout(stack.api, key, checkoutBody({ amount_cents: 1502 }));

    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await eagerStarts()).toBe(startsBefore);
    expect((await stack.client.workflow.getHandle(workflowId).describe()).runId).toBe(firstRun);
    const charges = (await stubCharges(stack.stub)).filter((c) => c.idempotency_key === `${workflowId}:charge`);
    expect(charges).toHaveLength(1);
  });

  it('the same key with another body is refused with 422 and runs nothing', async () => {
    const key = uniqueKey('reuse');
    expect((await postCheckout(stack.api, key, checkoutBody())).status).toBe(201);
    const before = (await stubCharges(stack.stub)).length;
    const res = await postCheckout(stack.api, key, checkoutBody({ amount_cents: 5000 }));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('idempotency_key_reused');
    expect((await stubCharges(stack.stub)).length).toBe(before);
  });
});

describe('POST /checkout, declines', () => {
  it.each([
    ['pm_declined', 'card_declined'],
    ['pm_insufficient_funds', 'insufficient_funds'],
  ])('%s answers 402 %s, with no charge at the stub and no ledger posting; a replay gives the same 402', async (pm, code) => {
    const key = uniqueKey('decline');
    const res = await postCheckout(stack.api, key, checkoutBody({ payment_method_id: pm }));
    expect(res.status).toBe(402);
    expect(res.body).toMatchObject({ status: 'failed', error: { code } });

    const charges = (await stubCharges(stack.stub)).filter((c) => c.idempotency_key === `${checkoutWorkflowId(stack.merchant.merchantId, key)}:charge`);
    expect(charges).toHaveLength(0);
    expect(await ledgerPostingsFor(res.body.payment_id)).toBe(0);

    const payment = await (await fetch(`${stack.api.url}/payments/${res.body.payment_id}`, { headers: authHeaders(stack.api) })).json();
    expect(payment).toMatchObject({ status: 'failed', failure_code: code });

    const replay = await postCheckout(stack.api, key, checkoutBody({ payment_method_id: pm }));
    expect(replay.status).toBe(402);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(res.body);
  });

  it('our fraud rule refuses an amount over the limit with 402 before any charge', async () => {
    const key = uniqueKey('fraud');
    const res = await postCheckout(stack.api, key, checkoutBody({ amount_cents: 9_000_000 }));
    expect(res.status).toBe(402);
    expect(res.body.error.code).toBe('fraud_rejected');
    const charges = (await stubCharges(stack.stub)).filter((c) => c.idempotency_key === `${checkoutWorkflowId(stack.merchant.merchantId, key)}:charge`);
    expect(charges).toHaveLength(0);
  });
});

describe('POST /checkout, bad input gets a clear answer and nothing else', () => {
  const cases: Array<[string, string | undefined, unknown, number, string | undefined]> = [
    ['missing Idempotency-Key', undefined, checkoutBody(), 400, 'Idempotency-Key'],
    ['empty Idempotency-Key', '', checkoutBody(), 400, 'Idempotency-Key'],
    ['Idempotency-Key over 255 characters', 'k'.repeat(256), checkoutBody(), 400, 'Idempotency-Key'],
    ['float amount', 'float', checkoutBody({ amount_cents: 19.99 }), 400, 'amount_cents'],
    ['amount as a string', 'str', checkoutBody({ amount_cents: '1999' }), 400, 'amount_cents'],
    ['zero amount', 'zero', checkoutBody({ amount_cents: 0 }), 400, 'amount_cents'],
    ['amount over the maximum', 'big', checkoutBody({ amount_cents: 100_000_000 }), 400, 'amount_cents'],
    ['lower-case currency', 'cur', checkoutBody({ currency: 'usd' }), 400, 'currency'],
    ['missing customer', 'cust', { amount_cents: 1, currency: 'USD', payment_method_id: 'pm_card_visa' }, 400, 'customer_id'],
    ['customer id over 64 characters', 'cust64', checkoutBody({ customer_id: 'c'.repeat(65) }), 400, 'customer_id'],
    ['unknown field', 'unknown', checkoutBody({ coupon: 'FREE' }), 400, 'coupon'],
    ['invalid JSON', 'json', '{"customer_id": ', 400, undefined],
    ['Idempotency-Key with a space (not visible ASCII)', 'has space', checkoutBody(), 400, 'Idempotency-Key'],
    ['null body', 'null', 'null', 400, undefined],
    ['array body', 'array', JSON.stringify([checkoutBody()]), 400, undefined],
    ['string body', 'string', '"checkout"', 400, undefined],
    ['amount as null', 'nullamt', checkoutBody({ amount_cents: null }), 400, 'amount_cents'],
    ['amount as an object', 'objamt', checkoutBody({ amount_cents: { value: 1999 } }), 400, 'amount_cents'],
    ['negative amount', 'neg', checkoutBody({ amount_cents: -5 }), 400, 'amount_cents'],
    ['amount in exponent notation beyond safe integers', 'exp', '{"customer_id":"c","amount_cents":1e300,"currency":"USD","payment_method_id":"pm"}', 400, 'amount_cents'],
    ['four-letter currency', 'cur4', checkoutBody({ currency: 'USDT' }), 400, 'currency'],
    ['empty payment method', 'pm', checkoutBody({ payment_method_id: '' }), 400, 'payment_method_id'],
    ['payment method over 64 characters', 'pm64', checkoutBody({ payment_method_id: 'p'.repeat(65) }), 400, 'payment_method_id'],
    ['__proto__ key', 'proto', '{"customer_id":"c","amount_cents":1,"currency":"USD","payment_method_id":"pm","__proto__":{"admin":true}}', 400, '__proto__'],
    ['deeply nested JSON', 'deep', `{"customer_id":${'['.repeat(3000)}${']'.repeat(3000)},"amount_cents":1,"currency":"USD","payment_method_id":"pm"}`, 400, 'customer_id'],
  ];

  it.each(cases)('%s → %s naming the field', async (_name, key, body, status, field) => {
    const before = (await stubCharges(stack.stub)).length;
    // a key of the case's own, made unique unless the case is about the key itself
    const sentKey = key === undefined || key === '' || key.length > 255 || key.includes(' ') ? key : uniqueKey(key);
    const res = await postCheckout(stack.api, sentKey, body);
    expect(res.status).toBe(status);
    expect(typeof res.body.error.message).toBe('string');
    if (field) expect(res.body.error.field).toBe(field);
    expect((await stubCharges(stack.stub)).length).toBe(before);
  });

  it('a non-JSON content type is 415', async () => {
    const res = await postCheckout(stack.api, uniqueKey('text'), 'customer_id=c1', 'text/plain');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
  });

  it('a body over 16 KiB is 413', async () => {
    const res = await postCheckout(stack.api, uniqueKey('large'), checkoutBody({ customer_id: 'x'.repeat(17 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });
});

describe('operations endpoints', () => {
  it('/healthz is 200 and /readyz is 200 with Temporal and Postgres reachable', async () => {
    expect((await fetch(`${stack.api.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, temporal: 'ok', postgres: 'ok' });
  });

  it('/metrics, on the metrics port, exposes request and checkout outcome counters in Prometheus text format', async () => {
    const res = await fetch(`${stack.api.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^http_requests_total\{method="POST",route="\/checkout",status="201"\} \d+/m);
    expect(text).toMatch(/^checkout_outcomes_total\{outcome="completed"\} \d+/m);
  });
});

describe('the books and the provider agree', () => {
  it('every ledger transaction balances and the trial balance sums to zero per currency', async () => {
    const unbalanced = await stack.pool.query(
      `SELECT transaction_id FROM ledger_entries GROUP BY transaction_id, currency
        HAVING sum(CASE direction WHEN 'debit' THEN amount_cents ELSE -amount_cents END) <> 0`,
    );
    expect(unbalanced.rows).toEqual([]);
    const totals = await stack.pool.query('SELECT currency, sum(balance_cents)::bigint AS total FROM ledger_trial_balance GROUP BY currency');
    expect(totals.rows.length).toBeGreaterThan(0);
    for (const row of totals.rows) expect(row.total).toBe(0);
  });

  it('the database itself refuses an unbalanced posting', async () => {
    const client = await stack.pool.connect();
    try {
      await client.query('BEGIN');
      const payment = await client.query('SELECT payment_id FROM payments LIMIT 1');
      const tx = await client.query(
        `INSERT INTO ledger_transactions (workflow_id, step, payment_id, description) VALUES ($1, 'test', $2, 'unbalanced') RETURNING id`,
        [uniqueKey('unbalanced'), payment.rows[0].payment_id],
      );
      await client.query(
        `INSERT INTO ledger_entries (transaction_id, account_code, direction, amount_cents, currency)
         VALUES ($1, 'provider_clearing', 'debit', 100, 'USD'), ($1, 'merchant_payable', 'credit', 99, 'USD')`,
        [tx.rows[0].id],
      );
      await expect(client.query('COMMIT')).rejects.toThrow(/does not balance/);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  });

  it('exactly one provider charge per completed payment', async () => {
    // this file's payments: the workflows its worker ran (other files share the database)
    const workflowIds: string[] = [];
    for await (const wf of stack.client.workflow.list({ query: `TaskQueue = "${stack.taskQueue}"` })) workflowIds.push(wf.workflowId);
    const completed = await stack.pool.query(
      `SELECT workflow_id, provider_charge_id FROM payments WHERE status = 'completed' AND workflow_id = ANY($1)`,
      [workflowIds],
    );
    const charges = await stubCharges(stack.stub);
    expect(completed.rows.length).toBeGreaterThan(0);
    for (const row of completed.rows) {
      const matching = charges.filter((c) => c.idempotency_key === `${row.workflow_id}:charge`);
      expect(matching.map((c) => c.id), row.workflow_id).toEqual([row.provider_charge_id]);
    }
  });
});

describe('determinism', () => {
  it('every workflow history from this file replays against the current workflow code', async () => {
    const query = `TaskQueue = "${stack.taskQueue}"`;
    const { count } = await stack.client.workflow.count(query);
    expect(count).toBeGreaterThanOrEqual(8); // the checkouts above that reached a workflow
    const histories = stack.client.workflow.list({ query }).intoHistories();
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH, dataConverter: stack.dataConverter }, histories)) {
      expect(result.error, result.workflowId).toBeUndefined();
      replayed += 1;
    }
    expect(replayed).toBe(count);
  });
});
