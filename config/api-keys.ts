// API keys: the pepper their hashes are made with, the environment named in
// each key (sk_test_..., sk_live_...), and the throttle on failed attempts.
import { z } from 'zod';
import { ConfigError } from '../errors';
import { parse } from './read';

export const apiKeyVars = {
  // production: the api refuses to start without API_KEY_PEPPER; development
  // falls back to a random pepper kept in DATA_DIR (accounts/pepper.ts)
  CHECKOUT_ENV: z.enum(['development', 'production']).default('development'),
  API_KEY_PEPPER: z.string().min(32, 'must be at least 32 characters').optional(),
  API_KEY_ENV: z.enum(['test', 'live']).optional(),
  // failed authentications per client address per minute before 429
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(20),
  // new checkouts per API key per minute, whatever customer_id says
  KEY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(6_000),
  DATA_DIR: z.string().min(1).default('.data'),
};

export const API_KEY_VARIABLES = Object.keys(apiKeyVars);

export interface ApiKeyConfig {
  environment: 'development' | 'production';
  /** undefined in development without API_KEY_PEPPER: see accounts/pepper.ts */
  pepper: string | undefined;
  keyEnv: 'test' | 'live';
  authFailuresPerMinute: number;
  keyRateLimitPerMinute: number;
  dataDir: string;
}

export function loadApiKeyConfig(env: NodeJS.ProcessEnv = process.env): ApiKeyConfig {
  const e = parse(z.object(apiKeyVars), env);
  if (e.CHECKOUT_ENV === 'production' && e.API_KEY_PEPPER === undefined) {
    throw new ConfigError('invalid configuration: API_KEY_PEPPER is required when CHECKOUT_ENV=production (32+ random characters, from your secret store)');
  }
  return {
    environment: e.CHECKOUT_ENV,
    pepper: e.API_KEY_PEPPER,
    keyEnv: e.API_KEY_ENV ?? (e.CHECKOUT_ENV === 'production' ? 'live' : 'test'),
    authFailuresPerMinute: e.AUTH_FAILURES_PER_MINUTE,
    keyRateLimitPerMinute: e.KEY_RATE_LIMIT_PER_MINUTE,
    dataDir: e.DATA_DIR,
  };
}
