// A development secret: random bytes kept in a file of DATA_DIR (mode 600),
// made on first use, so a local stack needs no setup and every process of it
// (they share DATA_DIR) reads the same one. Production passes its secrets in
// the environment instead (config refuses to run without them).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The base64 of `bytes` random bytes in <dataDir>/<name>, made if missing. */
export function devSecret(dataDir: string, name: string, bytes = 32): string {
  const file = path.resolve(dataDir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) {
    // written whole, then linked into place: processes starting together
    // agree on the first one linked, and none reads a half-written file
    const draft = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(draft, crypto.randomBytes(bytes).toString('base64'), { mode: 0o600 });
    try {
      fs.linkSync(draft, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.unlinkSync(draft);
    }
  }
  return fs.readFileSync(file, 'utf8').trim();
}
