// How long to wait before the next request (docs/design.md, "Bundled client"): full jitter so that
// clients retrying together spread out, never less than the server's
// Retry-After, and never past the caller's deadline.

export interface JitterOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Uniform in [0, 1). */
  random: () => number;
}

/**
 * Full jitter (docs/design.md, "Bundled client"): uniform in [0, min(maxDelayMs, baseDelayMs · 2^retry)],
 * retry counted from 0 for the first retry.
 */
export function fullJitterDelay(retry: number, opts: JitterOptions): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, retry));
  const r = Math.min(Math.max(opts.random(), 0), 1);
  return Math.floor(r * ceiling);
}

/** Retry-After as ms from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined; // a bare negative or fractional number is not a date
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** 'too_late': the wait would reach the deadline, so sleeping it could only end in giving up. */
export type NextWait = { kind: 'wait'; ms: number } | { kind: 'too_late'; ms: number };

/** The wait before retry number `retry` (from 0): the jitter, raised to the server's Retry-After. */
export function nextWait(
  retry: number,
  retryAfterMs: number | undefined,
  { jitter, deadlineMs, now }: { jitter: JitterOptions; deadlineMs: number; now: () => number },
): NextWait {
  const ms = Math.max(fullJitterDelay(retry, jitter), retryAfterMs ?? 0);
  return ms >= deadlineMs - now() ? { kind: 'too_late', ms } : { kind: 'wait', ms };
}
