// How every config slice reads the environment: typed field readers, one
// parse that names each bad variable, and the few values several slices share.
import { z } from 'zod';
import { ConfigError } from '../errors';

export const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const flag = z.enum(['0', '1', 'false', 'true']);
export const isOn = (value: string | undefined) => value === '1' || value === 'true';

export function parse<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  return parsed.data;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "5s,5m,2h" as milliseconds; a malformed item stops the process with the variable's name. */
export function parseDurationList(name: string, text: string): number[] {
  const items = text.split(',').map((item) => item.trim());
  return items.map((item) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(item);
    if (!match) throw new ConfigError(`invalid configuration: ${name}: "${item}" is not a duration like 500ms, 5s, 5m or 2h`);
    return Math.round(Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number));
  });
}

// The embedded server's two roles: user/password is the owner (its superuser),
// who runs the migrations; appUser/appPassword the application's, which reads and
// writes the tables but owns none, so the ledger's triggers bind it too.
export const EMBEDDED_DB = { user: 'postgres', password: 'postgres', appUser: 'checkout_app', appPassword: 'checkout_app', database: 'checkout' };

/** The application's connection to the embedded server (DATABASE_URL's default). */
export function embeddedDatabaseUrl(port: number): string {
  return `postgres://${EMBEDDED_DB.appUser}:${EMBEDDED_DB.appPassword}@127.0.0.1:${port}/${EMBEDDED_DB.database}`;
}

/** The owner's connection to the embedded server, for migrations (DATABASE_MIGRATION_URL's default). */
export function embeddedDatabaseOwnerUrl(port: number): string {
  return `postgres://${EMBEDDED_DB.user}:${EMBEDDED_DB.password}@127.0.0.1:${port}/${EMBEDDED_DB.database}`;
}
