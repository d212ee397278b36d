// The example receiver's own configuration: only the variables it reads, so it
// starts whatever the api's or worker's settings are. main.ts calls loadConfig()
// once at start; a bad value stops it with a message naming the variable.
import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

const envSchema = z.object({
  WEBHOOK_RECEIVER_PORT: port(4000),
  // the endpoint secret shown once when it was created
  WEBHOOK_RECEIVER_SECRET: z.string().startsWith('whsec_').optional(),
  // answer every delivery with this status (e.g. 503) to play an endpoint that is down
  WEBHOOK_RECEIVER_FAIL_STATUS: z.coerce.number().int().min(400).max(599).optional(),
  HOST: z.string().default('127.0.0.1'),
  // the api's port, only to print the curl line that registers this endpoint
  PORT: port(3000),
});

export interface ReceiverConfig {
  port: number;
  host: string;
  secret: string | undefined;
  failStatus: number | undefined;
  api: { port: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ReceiverConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return {
    port: e.WEBHOOK_RECEIVER_PORT,
    host: e.HOST,
    secret: e.WEBHOOK_RECEIVER_SECRET,
    failStatus: e.WEBHOOK_RECEIVER_FAIL_STATUS,
    api: { port: e.PORT },
  };
}
