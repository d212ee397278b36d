// Fleet-wide protection of the payment provider (docs/design.md, "Provider protection"), with its state in
// Postgres so every worker sees the same breaker and the same retry budget:
// - circuit breaker: opens at >= failureRatio failures over windowMs once
//   minVolume calls have ended, stays open openMs, then lets one probe through
//   (half-open); the probe's outcome closes or reopens it;
// - retry budget: retries (calls for a key the provider has already seen) are
//   at most `ratio` of first calls over windowMs, with a floor of minPerWindow;
//   a call the open breaker refused before it was ever made counts as a retry
//   when it comes back: the backlog drains under the budget, no herd on close.
// Times come from the database clock, so workers on different hosts agree.
import type { Run } from './deadline';
import { inTransaction, type Pool } from './pool';

export interface ProviderProtectionConfig {
  breaker: { failureRatio: number; windowMs: number; minVolume: number; openMs: number };
  retryBudget: { ratio: number; windowMs: number; minPerWindow: number };
  /** How long a half-open probe holds the single slot (a lost probe frees it then). */
  probeHoldMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface ProtectionEvents {
  breakerChanged?(provider: string, from: BreakerState, to: BreakerState): void;
  retryDeferred?(provider: string): void;
  callAdmitted?(provider: string, kind: 'first' | 'retry', probe: boolean): void;
}

export type Admission =
  | { admitted: true; callId: number; kind: 'first' | 'retry'; probe: boolean }
  | { admitted: false; reason: 'breaker_open' | 'retry_budget'; retryAfterMs: number };

export class ProviderProtection {
  constructor(
    private readonly pool: Pool,
    readonly provider: string,
    private readonly config: ProviderProtectionConfig,
    private readonly events: ProtectionEvents = {},
  ) {}

  /** Asks to call the provider for callKey; a refusal says how long to wait. */
  async admit(callKey: string): Promise<Admission> {
    const { breaker, retryBudget, probeHoldMs } = this.config;
    let transition: [BreakerState, BreakerState] | undefined;
    const admission = await inTransaction(this.pool, async (client): Promise<Admission> => {
      await client.query('INSERT INTO provider_breakers (provider) VALUES ($1) ON CONFLICT DO NOTHING', [this.provider]);
      const row = (
        await client.query<{ state: BreakerState; open_left_ms: number | null; probe_left_ms: number | null }>(
          `SELECT state,
                  (extract(epoch FROM opened_at + $2 * interval '1 millisecond' - clock_timestamp()) * 1000)::float8 AS open_left_ms,
                  (extract(epoch FROM probe_until - clock_timestamp()) * 1000)::float8 AS probe_left_ms
             FROM provider_breakers WHERE provider = $1 FOR UPDATE`,
          [this.provider, breaker.openMs],
        )
      ).rows[0];
      if (!row) throw new Error(`no breaker row for ${this.provider}`);

      const openLeftMs = row.state === 'open' ? (row.open_left_ms ?? 0) : row.state === 'half_open' ? (row.probe_left_ms ?? 0) : 0;
      if (openLeftMs > 0) {
        // backlog from now on: admitted later as a retry, under the budget, not all at once when the breaker closes
        await client.query('INSERT INTO provider_deferred_calls (provider, call_key) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          this.provider,
          callKey,
        ]);
        return { admitted: false, reason: 'breaker_open', retryAfterMs: Math.ceil(openLeftMs) };
      }
      let probe = false;
      if (row.state !== 'closed') {
        // open and its time is up, or half-open with a lost probe: this call is the probe
        probe = true;
        await client.query(
          `UPDATE provider_breakers SET state = 'half_open', probe_until = clock_timestamp() + $2 * interval '1 millisecond',
                  changed_at = clock_timestamp() WHERE provider = $1`,
          [this.provider, probeHoldMs],
        );
        if (row.state === 'open') transition = ['open', 'half_open'];
      }
      const seen = await client.query(
        `SELECT 1 FROM provider_calls WHERE provider = $1 AND call_key = $2
         UNION ALL SELECT 1 FROM provider_deferred_calls WHERE provider = $1 AND call_key = $2 LIMIT 1`,
        [this.provider, callKey],
      );
      const kind = seen.rowCount ? 'retry' : 'first';
      if (kind === 'retry' && !probe && !(await this.retryAllowed(client))) {
        return { admitted: false, reason: 'retry_budget', retryAfterMs: retryBudget.windowMs };
      }
      const inserted = await client.query<{ id: number }>(
        'INSERT INTO provider_calls (provider, call_key, kind, probe) VALUES ($1, $2, $3, $4) RETURNING id',
        [this.provider, callKey, kind, probe],
      );
      return { admitted: true, callId: Number(inserted.rows[0]?.id), kind, probe };
    });
    if (transition) this.events.breakerChanged?.(this.provider, ...transition);
    if (admission.admitted) this.events.callAdmitted?.(this.provider, admission.kind, admission.probe);
    else if (admission.reason === 'retry_budget') this.events.retryDeferred?.(this.provider);
    return admission;
  }

  /** Records how an admitted call ended and moves the breaker if it must. */
  async record(admission: Extract<Admission, { admitted: true }>, outcome: 'success' | 'failure'): Promise<void> {
    const { breaker } = this.config;
    let transition: [BreakerState, BreakerState] | undefined;
    await inTransaction(this.pool, async (client) => {
      await client.query('UPDATE provider_calls SET outcome = $2 WHERE id = $1', [admission.callId, outcome]);
      const state = (
        await client.query<{ state: BreakerState }>('SELECT state FROM provider_breakers WHERE provider = $1 FOR UPDATE', [
          this.provider,
        ])
      ).rows[0]?.state;
      if (admission.probe && state === 'half_open') {
        const to: BreakerState = outcome === 'success' ? 'closed' : 'open';
        await client.query(
          `UPDATE provider_breakers SET state = $2, opened_at = CASE WHEN $2 = 'open' THEN clock_timestamp() END,
                  probe_until = NULL, changed_at = clock_timestamp() WHERE provider = $1`,
          [this.provider, to],
        );
        transition = ['half_open', to];
      } else if (state === 'closed' && outcome === 'failure') {
        const window = (
          await client.query<{ ended: number; failures: number }>(
            `SELECT count(*) FILTER (WHERE outcome <> 'pending')::int AS ended,
                    count(*) FILTER (WHERE outcome = 'failure')::int AS failures
               FROM provider_calls WHERE provider = $1 AND at > clock_timestamp() - $2 * interval '1 millisecond'`,
            [this.provider, breaker.windowMs],
          )
        ).rows[0];
        if (window && window.ended >= breaker.minVolume && window.failures / window.ended >= breaker.failureRatio) {
          await client.query(
            `UPDATE provider_breakers SET state = 'open', opened_at = clock_timestamp(), probe_until = NULL,
                    changed_at = clock_timestamp() WHERE provider = $1`,
            [this.provider],
          );
          transition = ['closed', 'open'];
        }
      }
      // keep the table small: calls older than an hour no longer count for anything
      if (admission.callId % 1000 === 0) {
        for (const table of ['provider_calls', 'provider_deferred_calls']) {
          await client.query(`DELETE FROM ${table} WHERE provider = $1 AND at < clock_timestamp() - interval '1 hour'`, [this.provider]);
        }
      }
    });
    if (transition) this.events.breakerChanged?.(this.provider, ...transition);
  }

  async state(): Promise<BreakerState> {
    const res = await this.pool.query<{ state: BreakerState }>('SELECT state FROM provider_breakers WHERE provider = $1', [this.provider]);
    return res.rows[0]?.state ?? 'closed';
  }

  private async retryAllowed(client: { query: Pool['query'] }): Promise<boolean> {
    const { retries, allowed, retriesLastSecond } = await this.retryBudgetUse((text, values) => client.query(text, values));
    // a rate, not a bucket: a large allowance is spread over the window's seconds, so a backlog
    // waiting on the budget does not go out as one burst when the window turns; the floor may go at once
    const { windowMs, minPerWindow } = this.config.retryBudget;
    const perSecond = Math.max(minPerWindow, Math.ceil(allowed / Math.max(1, windowMs / 1000)));
    return retries < allowed && retriesLastSecond < perSecond;
  }

  /**
   * Retries admitted in the current window and how many the budget allows
   * there: at least minPerWindow, else `ratio` of first calls, or, while no
   * call in the window failed, as many as succeeded plus the floor (slow start:
   * a healthy provider takes a backlog at up to twice the load it just served,
   * and a backlog of retries alone, with no new calls to match, grows past the
   * floor a window at a time; the first failure brings the budget back to its
   * ratio). A retry is deferred
   * once retries reach allowed, or, in the last second, a tenth of it (for a
   * 10 s window) or the floor, whichever is more. Read from the fleet's calls, so any process
   * sees the same figure.
   */
  async retryBudgetUse(
    run: Run = (text, values) => this.pool.query(text, values),
  ): Promise<{ retries: number; allowed: number; retriesLastSecond: number }> {
    const budget = this.config.retryBudget;
    const counts = (
      await run<{ firsts: number; retries: number; successes: number; failures: number; retries_last_second: number }>(
        `SELECT count(*) FILTER (WHERE kind = 'first')::int AS firsts, count(*) FILTER (WHERE kind = 'retry')::int AS retries,
                count(*) FILTER (WHERE outcome = 'success')::int AS successes, count(*) FILTER (WHERE outcome = 'failure')::int AS failures,
                count(*) FILTER (WHERE kind = 'retry' AND at > clock_timestamp() - interval '1 second')::int AS retries_last_second
           FROM provider_calls WHERE provider = $1 AND at > clock_timestamp() - $2 * interval '1 millisecond'`,
        [this.provider, budget.windowMs],
      )
    ).rows[0] ?? { firsts: 0, retries: 0, successes: 0, failures: 0, retries_last_second: 0 };
    const healthy = counts.failures === 0 ? counts.successes + budget.minPerWindow : 0;
    return {
      retries: counts.retries,
      allowed: Math.max(budget.minPerWindow, Math.floor(budget.ratio * counts.firsts), healthy),
      retriesLastSecond: counts.retries_last_second,
    };
  }
}
