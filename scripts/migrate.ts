// `npm run migrate`: applies the database migrations not yet applied, as the
// tables' owner (DATABASE_MIGRATION_URL, else DATABASE_URL, else the embedded
// Postgres of `npm start`, which must be running), then grants DATABASE_URL's
// role its privileges.
// The api and the worker also migrate at start, through the same migrate()
// (db/migrate.ts: its own connection, lock and statement timeouts, checksums);
// this is for doing it first. One line per file applied, on stdout.
import { loadDatabaseSessionConfig, loadStackConfig } from '../config';
import { applicationRoleOf, migrate } from '../db/migrate';

async function main(): Promise<void> {
  const { database } = loadStackConfig();
  const { migrations } = loadDatabaseSessionConfig();
  const appRole = applicationRoleOf(database.url, database.migrationUrl);
  const applied = await migrate(database.migrationUrl, { ...migrations, appRole, log: (line) => console.log(line) });
  console.log(applied.length === 0 ? 'migrate: the database is up to date' : `migrate: done, ${applied.length} applied: ${applied.join(', ')}`);
}

main().catch((err: unknown) => {
  const where = process.env.DATABASE_URL ? 'DATABASE_URL' : 'the embedded Postgres (start it with npm run start:postgres)';
  console.error(`migrate failed against ${where}: ${(err as Error).message}`);
  process.exit(1);
});
