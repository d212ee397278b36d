// docs/design.md, "Failure scenarios and drills", scenario 7: the provider answers 503 to everything. The shared breaker opens,
// the provider sees only probes while it is open, and when the provider is back
// the backlog completes without a retry storm.
import type { Drill } from '../drill';
import { drive, logicalCheckouts, tally } from '../load';
import { attemptsPerSecond, sampleProvider, type ProviderSample } from '../provider-rate';

const OPEN_MS = 5_000; // the breaker's open time, short so several open periods fit
const MAX_CALLS_PER_OPEN_PERIOD = 2; // the probe, and at most one straggler

interface Breaker {
  state: string;
  openedAt: string | null;
}

export const providerDown: Drill = {
  name: 'provider-down',
  summary: 'provider down: the breaker opens, only probes reach it, the backlog drains without a storm on recovery',
  fullDuration: 'about 1.5 min',
  // on the cluster four processes call the provider (two workers, and two apis hosting a worker each): still one breaker
  topologies: ['dev', 'cluster'],
  async run({ short, log, startStack }) {
    const stack = await startStack({ env: { BREAKER_OPEN_MS: String(OPEN_MS) } });
    const n = short ? 50 : 200;
    const openPeriods = short ? 3 : 8;
    await stack.setFaults({ mode: 'unavailable', fail_rate: null });
    const sampler = sampleProvider<Breaker>(stack.stubUrl, {
      extra: async () => {
        const row = (await stack.pool.query<{ state: string; opened_at: string | null }>(`SELECT state, opened_at::text FROM provider_breakers`)).rows[0];
        return { state: row?.state ?? 'closed', openedAt: row?.opened_at ?? null };
      },
    });

    // all at once through the bundled client, which follows each 202 until the payment is final
    log(`provider unavailable; sending ${n} checkouts`);
    const load = drive(stack, logicalCheckouts(n, 'down'), { concurrency: n, log });
    log(`waiting for ${openPeriods} open periods of ${OPEN_MS} ms`);
    const periodsSeen = () => new Set(sampler.samples.map((s) => s.extra.openedAt).filter(Boolean)).size;
    const outageDeadline = Date.now() + 30_000 + openPeriods * (OPEN_MS + 5_000);
    let lastSeen = 0;
    while (periodsSeen() < openPeriods && Date.now() < outageDeadline) {
      if (periodsSeen() !== lastSeen) {
        lastSeen = periodsSeen();
        log(`  breaker open period ${lastSeen}, provider attempts so far ${sampler.samples.at(-1)?.attempts}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    log('provider back (mode ok); waiting for the backlog to drain');
    await stack.setFaults({ mode: 'ok', fail_rate: null });
    const recoveredAt = sampler.samples.at(-1)?.t ?? 0;
    const drainMs = await stack.waitUntilSettled(180_000, (open, pending) => log(`  ... ${open} open, ${pending} pending`));
    const result = await load;
    const samples = await sampler.stop();
    const stats = await stack.stubStats();

    const periods = openPeriodCalls(samples, recoveredAt);
    const rates = attemptsPerSecond(samples);
    const closedAgain = samples.findIndex((s, i) => s.t >= recoveredAt && s.extra.state === 'closed' && i > 0);
    const peakAfter = Math.max(0, ...rates.slice(Math.max(0, closedAgain)));
    const before = samples.find((s) => s.extra.openedAt !== null);

    const failures: string[] = [];
    if (periods.length === 0) failures.push('the breaker never opened');
    const busy = periods.filter((p) => p.calls > MAX_CALLS_PER_OPEN_PERIOD);
    if (busy.length > 0) failures.push(`the provider saw more than ${MAX_CALLS_PER_OPEN_PERIOD} calls in ${busy.length} open period(s): ${busy.map((p) => p.calls).join(', ')}`);
    if (result.errors.length > 0) failures.push(`${result.errors.length} checkouts gave up: ${result.errors[0]}`);
    if (drainMs < 0) failures.push('the backlog did not drain within 180 s of recovery');
    if (stats.charges_applied !== n) failures.push(`stub charges applied ${stats.charges_applied}, expected ${n}`);
    // a storm would bring the whole backlog back at once
    if (peakAfter > n / 2) failures.push(`${peakAfter.toFixed(0)} provider attempts/s after recovery: more than half the backlog at once`);
    return {
      rows: [
        ['logical checkouts', n],
        ['outcomes', JSON.stringify(tally(result.results))],
        ['provider attempts before the breaker opened', before?.attempts ?? stats.attempts],
        ['breaker transitions seen', transitions(samples)],
        ['provider attempts per open period', periods.map((p) => p.calls).join(', ') || 'none'],
        ['peak provider attempts/s after recovery', peakAfter.toFixed(1)],
        ['time to drain after recovery', drainMs < 0 ? 'not drained' : `${(drainMs / 1000).toFixed(1)} s`],
        ['provider attempts in all (per checkout)', `${stats.attempts} (${(stats.attempts / n).toFixed(2)})`],
        ['stub charges applied', stats.charges_applied],
      ],
      failures,
    };
  },
};

/**
 * Provider calls in each open period (one per opened_at) while the provider
 * was down (until `downUntil`): from the first sample that shows the period
 * until the breaker reopens, so a period's own failed probe counts in it.
 */
function openPeriodCalls(samples: ProviderSample<Breaker>[], downUntil: number): Array<{ openedAt: string; calls: number }> {
  const periods: Array<{ openedAt: string; calls: number }> = [];
  for (let i = 0; i + 1 < samples.length; i += 1) {
    const [a, b] = [samples[i] as ProviderSample<Breaker>, samples[i + 1] as ProviderSample<Breaker>];
    if (b.t > downUntil || a.extra.state === 'closed' || a.extra.openedAt === null || b.extra.state === 'closed') continue;
    if (periods.at(-1)?.openedAt !== a.extra.openedAt) periods.push({ openedAt: a.extra.openedAt, calls: 0 });
    (periods.at(-1) as { calls: number }).calls += b.attempts - a.attempts;
  }
  return periods;
}

/** e.g. "open at 1.2 s, reopened by failed probes at 6.5, 11.8 s, closed at 17.0 s". */
function transitions(samples: ProviderSample<Breaker>[]): string {
  const opens: number[] = [];
  let closedAt: number | undefined;
  let previous: Breaker = { state: 'closed', openedAt: null };
  for (const s of samples) {
    if (s.extra.openedAt !== previous.openedAt && s.extra.state !== 'closed') opens.push(s.t);
    if (s.extra.state === 'closed' && previous.state !== 'closed') closedAt = s.t;
    previous = s.extra;
  }
  if (opens.length === 0) return 'none (stayed closed)';
  const t = (x: number) => x.toFixed(1);
  const reopened = opens.slice(1);
  return (
    `open at ${t(opens[0] as number)} s` +
    (reopened.length > 0 ? `, reopened by ${reopened.length} failed probe(s) at ${reopened.map(t).join(', ')} s` : '') +
    (closedAt !== undefined ? `, closed at ${t(closedAt)} s` : ', never closed')
  );
}
