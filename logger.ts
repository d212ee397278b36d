import pino from 'pino';
import { correlationFields } from './observability/correlation';

export type Logger = pino.Logger;

/**
 * JSON logs on stdout (or `destination`, in tests); `service` says which
 * process wrote the line, and a line written inside a request or an activity
 * carries its request_id and trace_id (observability/correlation.ts).
 */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service }, mixin: correlationFields }, destination);
}
