// `npm run migrate`: applies the database migrations not yet applied, to
// DATABASE_URL or the embedded Postgres of `npm start` (which must be running).
// The api and the worker also migrate at start; this is for doing it first.
import { loadStackConfig } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';

async function main(): Promise<void> {
  const { database } = loadStackConfig();
  const pool = createPool(database.url, 1);
  try {
    const applied = await migrate(pool);
    console.log(applied.length === 0 ? 'migrate: the database is up to date' : `migrate: applied ${applied.join(', ')}`);
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  const where = process.env.DATABASE_URL ? 'DATABASE_URL' : 'the embedded Postgres (start it with npm run start:postgres)';
  console.error(`migrate failed against ${where}: ${(err as Error).message}`);
  process.exit(1);
});
