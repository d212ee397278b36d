export type GiveUpReason = 'max_attempts' | 'total_timeout' | 'unexpected_response';

/** checkout() gave up without a final answer. The checkout may still complete: resume with the same key. */
export class CheckoutError extends Error {
  override readonly name = 'CheckoutError';
  readonly reason: GiveUpReason;
  readonly attempts: number;
  readonly polls: number;
  /** The last HTTP status, or what happened instead (e.g. 'ECONNRESET', 'timeout'). */
  readonly lastStatus: number | string;
  readonly idempotencyKey: string;
  readonly elapsedMs: number;

  constructor(fields: {
    reason: GiveUpReason;
    attempts: number;
    polls: number;
    lastStatus: number | string;
    idempotencyKey: string;
    elapsedMs: number;
    detail: string;
  }) {
    super(
      `checkout gave up (${fields.detail}) after ${fields.attempts} attempt${fields.attempts === 1 ? '' : 's'}` +
        `${fields.polls > 0 ? ` and ${fields.polls} poll${fields.polls === 1 ? '' : 's'}` : ''}` +
        ` in ${fields.elapsedMs} ms; last status: ${fields.lastStatus}; Idempotency-Key ${fields.idempotencyKey}` +
        ' (retry later with this same key to resume the same checkout, never a new one)',
    );
    this.reason = fields.reason;
    this.attempts = fields.attempts;
    this.polls = fields.polls;
    this.lastStatus = fields.lastStatus;
    this.idempotencyKey = fields.idempotencyKey;
    this.elapsedMs = fields.elapsedMs;
  }
}
