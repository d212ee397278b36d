// A dependency that is down or too slow is a 503 the client may retry, never
// a 500 and never a hang. This tells Postgres's "I can't answer" apart from a bug.
import { DatabaseUnavailableError } from '../errors';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

// SQLSTATEs meaning "the database can't serve you now", not "your SQL is wrong".
const UNAVAILABLE_SQLSTATES = new Set([
  '53300', // too_many_connections
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '55P03', // lock_not_available (lock_timeout)
]);

// What pg and pg-pool throw on their own, without a code.
const UNAVAILABLE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /Connection terminated/i,
  /Query read timeout/i,
  /connection (is )?(closed|ended)/i,
  /Client has encountered a connection error/i,
];

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
  }
  // Node reports a refused connection to a name with several addresses as an AggregateError
  if (err instanceof AggregateError && err.errors.some(isDatabaseUnavailable)) return true;
  if (UNAVAILABLE_MESSAGES.some((re) => re.test(err.message))) return true;
  return err.cause !== undefined && isDatabaseUnavailable(err.cause);
}
