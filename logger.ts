import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs on stdout; `service` says which process wrote the line. */
export function createLogger(service: string, level: string): Logger {
  return pino({ level, base: { service } });
}
