// The requests the benchmark sends: fresh checkouts under unique keys, spread
// over many customers, and replays of checkouts already answered.
import crypto from 'node:crypto';
import type { LoadRequest } from './open-load';

const CUSTOMERS = 5_000;

/** A fresh checkout per call under the API key: a new Idempotency-Key, the customer cycling over CUSTOMERS. */
export function freshCheckouts(label: string, apiKey: string): (i: number) => LoadRequest {
  const authorization = `Bearer ${apiKey}`;
  const run = crypto.randomUUID().slice(0, 8);
  let n = 0;
  return () => {
    n += 1;
    const key = `bench-${label}-${run}-${n}`;
    const body = JSON.stringify({
      customer_id: `bench_cust_${n % CUSTOMERS}`,
      amount_cents: 100 + (n % 9_000),
      currency: 'USD',
      payment_method_id: 'pm_card_visa',
    });
    return { key, path: '/checkout', headers: { 'content-type': 'application/json', authorization, 'idempotency-key': key }, body };
  };
}

/** The same requests again, round robin: each is a replay of an answered checkout. */
export function replaysOf(answered: LoadRequest[]): (i: number) => LoadRequest {
  if (answered.length === 0) throw new Error('no answered checkouts to replay');
  return (i) => answered[i % answered.length] as LoadRequest;
}
