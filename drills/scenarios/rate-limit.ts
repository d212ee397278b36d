// The per-customer rate limit is one limit however many apis there are
// (docs/design.md, "Rate limits"): each customer's checkouts are sent all at
// once, alternating between the apis, more than the limit allows in a minute.
// Exactly the limit is accepted per customer, the rest is 429 with a
// Retry-After from whichever api got it, and only the accepted ones charge.
// A 503 (a dependency too slow under the burst) is retried with the same key
// after its Retry-After, as every client must; a 429 is final here.
import crypto from 'node:crypto';
import type { Drill } from '../drill';

const LIMIT = 10;
const SENT_PER_CUSTOMER = 15;

interface Answer {
  api: number;
  status: number;
  retryAfter: string | null;
  /** 503s answered before this answer, by error code */
  unavailable: string[];
}

const MAX_503_RETRIES = 10;

export const rateLimit: Drill = {
  name: 'rate-limit',
  summary: `${SENT_PER_CUSTOMER} checkouts per customer at once, spread over every api: exactly ${LIMIT} accepted each, the rest 429 from any api`,
  fullDuration: 'about 1 min',
  topologies: ['dev', 'cluster'],
  async run({ short, log, startStack }) {
    const stack = await startStack({ env: { RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
    const customers = short ? 12 : 60;
    const apis = stack.apiUrls;
    const run = crypto.randomUUID().slice(0, 8);
    log(`${customers} customers, ${SENT_PER_CUSTOMER} checkouts each at once over ${apis.length} api(s); limit ${LIMIT} a minute`);

    const post = async (customer: string, i: number): Promise<Answer> => {
      const api = i % apis.length;
      const unavailable: string[] = [];
      for (;;) {
        const res = await fetch(`${apis[api]}/checkout`, {
          method: 'POST',
          headers: { ...stack.authHeaders(), 'content-type': 'application/json', 'idempotency-key': `${customer}-${i}` },
          body: JSON.stringify({ customer_id: customer, amount_cents: 100 + i, currency: 'USD', payment_method_id: 'pm_card_visa' }),
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        const retryAfter = res.headers.get('retry-after');
        if (res.status !== 503 || unavailable.length >= MAX_503_RETRIES) return { api, status: res.status, retryAfter, unavailable };
        unavailable.push(`${body.error?.code ?? 'no code'} (${body.error?.message ?? ''})`);
        await new Promise((r) => setTimeout(r, Math.max(1, Number(retryAfter) || 1) * 1_000 * (0.5 + Math.random())));
      }
    };

    const failures: string[] = [];
    const refusedBy = new Map<number, number>();
    let accepted = 0;
    let refused = 0;
    const retried503 = new Map<string, number>();
    const wrongCounts: string[] = [];
    for (let c = 0; c < customers; c += 4) {
      const batch = Array.from({ length: Math.min(4, customers - c) }, (_, k) => `rl-${run}-c${c + k}`);
      await Promise.all(
        batch.map(async (customer) => {
          const answers = await Promise.all(Array.from({ length: SENT_PER_CUSTOMER }, (_, i) => post(customer, i)));
          // 200: a retry of a 503 whose checkout had been accepted (answered from its record)
          const ok = answers.filter((a) => a.status === 200 || a.status === 201 || a.status === 202).length;
          const limited = answers.filter((a) => a.status === 429);
          for (const code of answers.flatMap((a) => a.unavailable)) retried503.set(code, (retried503.get(code) ?? 0) + 1);
          accepted += ok;
          refused += limited.length;
          for (const a of limited) refusedBy.set(a.api, (refusedBy.get(a.api) ?? 0) + 1);
          if (ok !== LIMIT || limited.length !== SENT_PER_CUSTOMER - LIMIT) {
            wrongCounts.push(`${customer}: ${answers.map((a) => a.status).join(' ')}`);
          }
          if (limited.some((a) => !a.retryAfter || !(Number(a.retryAfter) > 0))) failures.push(`${customer}: a 429 without a positive Retry-After`);
        }),
      );
    }
    if (wrongCounts.length > 0) failures.push(`${wrongCounts.length} customers not held to ${LIMIT}: ${wrongCounts.slice(0, 3).join('; ')}`);
    if (apis.length > 1 && apis.some((_, i) => !refusedBy.get(i))) failures.push(`not every api refused: ${JSON.stringify(Object.fromEntries(refusedBy))}`);

    const settledMs = await stack.waitUntilSettled(120_000, (open, pending) => log(`  ... settling: ${open} open, ${pending} pending`));
    if (settledMs < 0) failures.push('checkouts still running 120 s after the burst');
    const stats = await stack.stubStats();
    if (stats.charges_applied !== accepted) failures.push(`stub charges applied ${stats.charges_applied}, accepted checkouts ${accepted}`);
    return {
      rows: [
        ['customers', customers],
        ['checkouts sent (per customer)', `${customers * SENT_PER_CUSTOMER} (${SENT_PER_CUSTOMER})`],
        ['accepted (201, 202, or 200 for a retried 503 already accepted)', accepted],
        ['refused 429', `${refused} (${[...refusedBy].sort().map(([api, n]) => `api ${api + 1}: ${n}`).join(', ')})`],
        ['503s retried with the same key (by error)', JSON.stringify(Object.fromEntries(retried503))],
        ['customers held to exactly the limit', `${customers - wrongCounts.length}/${customers}`],
        ['stub charges applied', stats.charges_applied],
      ],
      failures,
    };
  },
};
