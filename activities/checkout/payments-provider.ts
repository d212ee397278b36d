// HTTP client for the payment provider (our payments-stub speaks its API).
// Knows nothing of Temporal: it returns a charge or a decline, or throws a
// ProviderCallError saying whether another attempt may help.
import { Agent, request } from 'undici';
import type { ProviderCharge, ProviderRefund } from '../../domain/provider';
import { ProviderCallError } from '../../errors';
import { outcomeOfStatus, startProviderRequest, type ProviderRequestTiming } from '../provider-request-duration';

export interface PaymentsProviderOptions {
  baseUrl: string;
  connectTimeoutMs: number;
  /** Times every call (provider_request_duration_seconds). */
  requestDuration?: ProviderRequestTiming;
}

export type ChargeResult = { kind: 'charged'; charge: ProviderCharge } | { kind: 'declined'; code: string };

export interface ChargeRequest {
  idempotencyKey: string;
  amount_cents: number;
  currency: string;
  payment_method_id: string;
}

export class PaymentsProvider {
  private readonly agent: Agent;

  constructor(private readonly options: PaymentsProviderOptions) {
    this.agent = new Agent({ connect: { timeout: options.connectTimeoutMs }, keepAliveTimeout: 10_000 });
  }

  /** timeoutMs bounds the whole request (connect, headers and body); signal aborts it early. */
  async charge(req: ChargeRequest, timeoutMs: number, signal?: AbortSignal): Promise<ChargeResult> {
    const { status, body, retryAfterMs } = await this.post(
      'charge',
      '/charges',
      req.idempotencyKey,
      { amount_cents: req.amount_cents, currency: req.currency, payment_method_id: req.payment_method_id },
      timeoutMs,
      signal,
    );
    if (status === 200) return { kind: 'charged', charge: parseCharge(body) };
    if (status === 402) return { kind: 'declined', code: errorCode(body) ?? 'card_declined' };
    throw classify(status, body, retryAfterMs);
  }

  /** Refunds a charge under its own idempotency key; the same key again refunds nothing more. */
  async refund(req: { idempotencyKey: string; chargeId: string }, timeoutMs: number, signal?: AbortSignal): Promise<ProviderRefund> {
    const { status, body, retryAfterMs } = await this.post('refund', '/refunds', req.idempotencyKey, { charge_id: req.chargeId }, timeoutMs, signal);
    if (status === 200) {
      const b = body as Partial<ProviderRefund> | undefined;
      if (!b || typeof b.id !== 'string') throw new ProviderCallError('provider answered 200 without a refund', true, 200);
      return { id: b.id, charge_id: String(b.charge_id ?? req.chargeId) };
    }
    throw classify(status, body, retryAfterMs);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async post(
    operation: 'charge' | 'refund',
    path: string,
    idempotencyKey: string,
    payload: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: unknown; retryAfterMs?: number }> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([deadline, signal]) : deadline;
    const done = startProviderRequest(this.options.requestDuration, operation);
    try {
      const res = await request(new URL(path, this.options.baseUrl), {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(payload),
        signal: combined,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      done(outcomeOfStatus(res.statusCode));
      return { status: res.statusCode, body: parseJson(text), retryAfterMs: retryAfterMs(res.headers['retry-after']) };
    } catch (err) {
      done(deadline.aborted ? 'timeout' : signal?.aborted ? 'cancelled' : 'network');
      if (deadline.aborted) throw new ProviderCallError(`provider did not answer within ${timeoutMs} ms`, true);
      if (signal?.aborted) throw new ProviderCallError('provider call cancelled', true);
      // connection refused / reset / socket closed before an answer (e.g. a lost response)
      throw new ProviderCallError(`provider call failed: ${(err as Error).message}`, true);
    }
  }
}

function classify(status: number, body: unknown, retryAfter?: number): ProviderCallError {
  const code = errorCode(body);
  if (status >= 500 || status === 429 || status === 408) {
    return new ProviderCallError(`provider answered ${status}${code ? ` (${code})` : ''}`, true, status, retryAfter);
  }
  return new ProviderCallError(`provider refused the request: ${status}${code ? ` (${code})` : ''}`, false, status);
}

function parseCharge(body: unknown): ProviderCharge {
  const b = body as Partial<ProviderCharge> | undefined;
  if (!b || typeof b.id !== 'string' || typeof b.amount_cents !== 'number' || typeof b.currency !== 'string') {
    throw new ProviderCallError('provider answered 200 without a charge', true, 200);
  }
  return { id: b.id, amount_cents: b.amount_cents, currency: b.currency, created: Number(b.created ?? 0) };
}

function errorCode(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
