// The stub's own configuration: only the variables it reads, so it starts
// whatever the other processes' settings are. main.ts calls loadConfig() once
// at start; a bad value stops it with a message naming the variable.
import { z } from 'zod';
import { FAULT_MODES, type FaultMode } from './faults';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const envSchema = z.object({
  STUB_PORT: z.coerce.number().int().min(0).max(65535).default(9000),
  HOST: z.string().default('127.0.0.1'),
  LATENCY_MS: z.coerce.number().int().min(0).default(0),
  // share of requests FAULT_MODE hits; unset: every request
  FAIL_RATE: z.coerce.number().min(0).max(1).optional(),
  FAULT_MODE: z.enum(FAULT_MODES).default('ok'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});

/** Every environment variable the stub reads. */
export const STUB_CONFIG_VARIABLES: string[] = Object.keys(envSchema.shape);

export interface StubConfig {
  port: number;
  host: string;
  latencyMs: number;
  failRate: number | undefined;
  faultMode: FaultMode;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): StubConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return {
    port: e.STUB_PORT,
    host: e.HOST,
    latencyMs: e.LATENCY_MS,
    failRate: e.FAIL_RATE,
    faultMode: e.FAULT_MODE,
    logLevel: e.LOG_LEVEL,
  };
}
