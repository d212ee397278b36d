// The pepper API key hashes are made with. Production passes API_KEY_PEPPER
// (config refuses to start without it); development keeps a random one in
// DATA_DIR, made on first use, so keys survive restarts with no setup.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ApiKeyConfig } from '../config/api-keys';

export const DEV_PEPPER_FILE = 'api-key-pepper';

export function pepperOf(config: ApiKeyConfig): string {
  if (config.pepper !== undefined) return config.pepper;
  const file = path.resolve(config.dataDir, DEV_PEPPER_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) {
    // written whole, then linked into place: two processes starting together
    // agree on the first one linked, and none reads a half-written file
    const draft = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(draft, crypto.randomBytes(32).toString('base64url'), { mode: 0o600 });
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
