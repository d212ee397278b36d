// docs/resilience.md, "Black Friday": the failure-first week's rehearsal. A
// thousand customers check out at a steady rate through the bundled client while,
// for a window, the provider fails half its calls and is slow on the rest of the
// tail (p99 10 s). Our protections are on as shipped (api budget and shedding,
// jittered retries, retry budget, shared breaker). Every answer the api gives
// must come within its budget, every customer must end with a final answer,
// and every payment must be charged once (the runner's invariants).
import { CheckoutError, createCheckoutClient } from '../../client/checkout-client';
import type { Drill } from '../drill';
import { drive, logicalCheckouts, p50p99Worst } from '../load';
import { sampleProvider, type ProviderSample } from '../provider-rate';
import { answersByStatus, lateAnswers, requestTimer } from '../request-timer';
import { spansWhere } from '../storm-series';

const API_LIMIT_MS = 3_000 + 500; // the api's budget plus a margin for the trip
const RATE_PER_S = 6;
const FAIL_RATE = 0.5;
const TAIL = { tail_rate: 0.02, tail_latency_ms: 10_000 }; // 2 % of calls take 10 s: p99 10 s

export const blackFriday: Drill = {
  name: 'black-friday',
  summary: '1,000 customers; the provider fails 50 % with p99 10 s for a window: every answer in budget, every payment resolved once',
  fullDuration: 'about 3.5 min',
  async run({ short, log, startStack }) {
    // the short run's 12 s window would leave the breaker open 30 s past it: 10 s, as retry-storm's short run
    const stack = await startStack(short ? { env: { BREAKER_OPEN_MS: '10000' } } : {});
    const n = short ? 150 : 1_000;
    const window = short ? { fromS: 4, toS: 16 } : { fromS: 30, toS: 120 };
    await drive(stack, logicalCheckouts(10, 'bf-warmup'), { concurrency: 5, log });

    const timer = requestTimer();
    const client = createCheckoutClient({
      baseUrl: stack.apiUrl,
      apiKey: stack.apiKey,
      totalTimeoutMs: 900_000,
      maxAttempts: 20,
      onAttempt: (e) => timer.onAttempt(e),
    });
    const items = logicalCheckouts(n, 'bf');
    const outcomes: Record<string, number> = {};
    const checkoutMs: number[] = [];
    const sampler = sampleProvider<string>(stack.stubUrl, {
      extra: () => stack.providerBreakerState(),
    });
    log(
      `${n} customers at ${RATE_PER_S}/s; from ${window.fromS} s to ${window.toS} s the provider fails ${FAIL_RATE * 100} % of calls ` +
        `and ${TAIL.tail_rate * 100} % take ${TAIL.tail_latency_ms / 1000} s`,
    );
    const t0 = performance.now();
    const elapsedS = () => (performance.now() - t0) / 1000;
    let phase: 'before' | 'failing' | 'after' = 'before';
    const phases = (async () => {
      while (phase !== 'after') {
        if (phase === 'before' && elapsedS() >= window.fromS) {
          await stack.setFaults({ mode: 'error', fail_rate: FAIL_RATE, ...TAIL });
          phase = 'failing';
          log(`  ${elapsedS().toFixed(1)} s: the provider fails half its calls, slowly on the tail`);
        } else if (phase === 'failing' && elapsedS() >= window.toS) {
          await stack.setFaults({ mode: 'ok', fail_rate: null, tail_rate: 0 });
          phase = 'after';
          log(`  ${elapsedS().toFixed(1)} s: the provider is well again`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const ticker = setInterval(() => {
      const last = sampler.samples.at(-1);
      log(`  ${elapsedS().toFixed(0)} s: ${checkoutMs.length}/${n} customers answered; provider attempts ${last?.attempts ?? '?'}, breaker ${last?.extra ?? '?'}`);
    }, 10_000);
    try {
      await Promise.all(
        items.map(async (item, i) => {
          await new Promise((r) => setTimeout(r, (i * 1_000) / RATE_PER_S));
          const t = performance.now();
          try {
            const result = await client.checkout(item.request, { idempotencyKey: item.key });
            outcomes[result.status] = (outcomes[result.status] ?? 0) + 1;
          } catch (err) {
            if (!(err instanceof CheckoutError)) throw err;
            outcomes[`gave up: ${err.lastStatus}`] = (outcomes[`gave up: ${err.lastStatus}`] ?? 0) + 1;
          }
          checkoutMs.push(performance.now() - t);
        }),
      );
    } finally {
      clearInterval(ticker);
      phase = 'after'; // ends the phase loop if the customers were done first
      await phases;
      await stack.setFaults({ mode: 'ok', fail_rate: null, tail_rate: 0 });
    }
    const lastAnswerS = elapsedS();
    const samples: ProviderSample<string>[] = await sampler.stop();
    const settled = await stack.waitUntilSettled(120_000, (o, p) => log(`  ... ${o} open, ${p} pending`));
    const stats = await stack.stubStats();

    const posts = timer.durations.filter((d) => d.kind === 'checkout');
    const polls = timer.durations.filter((d) => d.kind === 'poll');
    const breakerOpen = spansWhere(samples, (s) => s.extra !== 'closed');
    const failures: string[] = [];
    const late = lateAnswers(timer.durations, API_LIMIT_MS);
    if (late) failures.push(late);
    const unresolved = Object.entries(outcomes).filter(([status]) => status !== 'completed');
    if (unresolved.length > 0) failures.push(`customers without a completed payment: ${JSON.stringify(Object.fromEntries(unresolved))}`);
    if (settled < 0) failures.push('checkouts still open or pending 120 s after the last customer was answered');
    return {
      rows: [
        ['customers', `${n} at ${RATE_PER_S}/s (after 10 to warm up)`],
        ['provider', `${FAIL_RATE * 100} % errors and ${TAIL.tail_rate * 100} % of calls taking ${TAIL.tail_latency_ms / 1000} s, from ${window.fromS} s to ${window.toS} s`],
        ['customers\' outcomes', JSON.stringify(outcomes)],
        ['api answers (request, status)', JSON.stringify(answersByStatus(timer.durations))],
        ['POST /checkout p50 / p99 / worst', `${p50p99Worst(posts.map((d) => d.ms))} (limit ${API_LIMIT_MS})`],
        ['GET of a 202 Location p50 / p99 / worst', polls.length > 0 ? p50p99Worst(polls.map((d) => d.ms)) : 'none'],
        ['customer time to a final answer p50 / p99 / worst', p50p99Worst(checkoutMs)],
        ['last customer answered', `${lastAnswerS.toFixed(0)} s after the first arrived (${(lastAnswerS - window.toS).toFixed(0)} s after the window)`],
        ['provider calls per payment', ((stats.attempts - 10) / n).toFixed(2)],
        ['breaker not closed', breakerOpen.map(([a, b]) => `${a.toFixed(0)}-${b.toFixed(0)} s`).join(', ') || 'never'],
      ],
      failures,
    };
  },
};
