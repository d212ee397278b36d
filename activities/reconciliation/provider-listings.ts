// Read-only HTTP client for the provider's listings (GET /charges, GET
// /charges/{id}, GET /refunds), as reconciliation reads them. Every call has a
// whole-request timeout; failures are ProviderCallErrors saying whether another
// attempt may help. Knows nothing of Temporal.
import { Agent, request } from 'undici';
import type { ProviderChargeRecord, ProviderRefundRecord } from '../../domain/reconciliation-compare';
import { ProviderCallError } from '../../errors';
import { outcomeOfStatus, startProviderRequest, type ProviderRequestTiming } from '../provider-request-duration';

export interface ProviderListingsOptions {
  baseUrl: string;
  connectTimeoutMs: number;
  /** Times every call (provider_request_duration_seconds). */
  requestDuration?: ProviderRequestTiming;
}

export class ProviderListings {
  private readonly agent: Agent;

  constructor(private readonly options: ProviderListingsOptions) {
    this.agent = new Agent({ connect: { timeout: options.connectTimeoutMs }, keepAliveTimeout: 10_000 });
  }

  /** Charges created at or after `sinceSeconds` (unix seconds). */
  async charges(sinceSeconds: number, timeoutMs: number, signal?: AbortSignal): Promise<ProviderChargeRecord[]> {
    const { status, body } = await this.get('list_charges', `/charges?since=${sinceSeconds}`, timeoutMs, signal);
    if (status !== 200) throw failure(status);
    return listOf(body).map(parseCharge);
  }

  /** Refunds created at or after `sinceSeconds` (unix seconds). */
  async refunds(sinceSeconds: number, timeoutMs: number, signal?: AbortSignal): Promise<ProviderRefundRecord[]> {
    const { status, body } = await this.get('list_refunds', `/refunds?since=${sinceSeconds}`, timeoutMs, signal);
    if (status !== 200) throw failure(status);
    return listOf(body).map(parseRefund);
  }

  /** One charge, or undefined when the provider has no such charge (404). */
  async charge(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ProviderChargeRecord | undefined> {
    const { status, body } = await this.get('lookup', `/charges/${encodeURIComponent(id)}`, timeoutMs, signal);
    if (status === 404) return undefined;
    if (status !== 200) throw failure(status);
    return parseCharge(body);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async get(
    operation: 'list_charges' | 'list_refunds' | 'lookup',
    path: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: unknown }> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([deadline, signal]) : deadline;
    const done = startProviderRequest(this.options.requestDuration, operation);
    try {
      const res = await request(new URL(path, this.options.baseUrl), {
        method: 'GET',
        dispatcher: this.agent,
        signal: combined,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      done(outcomeOfStatus(res.statusCode));
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: res.statusCode, body };
    } catch (err) {
      done(deadline.aborted ? 'timeout' : signal?.aborted ? 'cancelled' : 'network');
      if (deadline.aborted) throw new ProviderCallError(`provider listing did not answer within ${timeoutMs} ms`, true);
      if (signal?.aborted) throw new ProviderCallError('provider listing call cancelled', true);
      throw new ProviderCallError(`provider listing call failed: ${(err as Error).message}`, true);
    }
  }
}

function failure(status: number): ProviderCallError {
  const retryable = status >= 500 || status === 429 || status === 408;
  return new ProviderCallError(`provider listing answered ${status}`, retryable, status);
}

function listOf(body: unknown): unknown[] {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data)) throw new ProviderCallError('provider listing answered without a data array', true, 200);
  return data;
}

function parseCharge(raw: unknown): ProviderChargeRecord {
  const c = raw as Partial<ProviderChargeRecord> | undefined;
  if (!c || typeof c.id !== 'string' || typeof c.amount_cents !== 'number' || typeof c.currency !== 'string' || typeof c.created !== 'number') {
    throw new ProviderCallError('provider listed a malformed charge', true, 200);
  }
  return {
    id: c.id,
    idempotency_key: String(c.idempotency_key ?? ''),
    amount_cents: c.amount_cents,
    currency: c.currency,
    created: c.created,
    refunded: c.refunded === true,
  };
}

function parseRefund(raw: unknown): ProviderRefundRecord {
  const r = raw as Partial<ProviderRefundRecord> | undefined;
  if (!r || typeof r.id !== 'string' || typeof r.charge_id !== 'string' || typeof r.created !== 'number') {
    throw new ProviderCallError('provider listed a malformed refund', true, 200);
  }
  return { id: r.id, charge_id: r.charge_id, amount_cents: Number(r.amount_cents ?? 0), currency: String(r.currency ?? ''), created: r.created };
}
