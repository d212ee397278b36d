#!/bin/sh
# The app's own Postgres role, made when the `postgres` service of
# docker-compose.yml first initialises an empty volume
# (/docker-entrypoint-initdb.d), as POSTGRES_USER, the tables' owner.
#
# checkout_app logs in (DATABASE_URL) and gets its privileges from migrate,
# which grants what is missing at the end of every run (db/migrate.ts); it owns
# nothing and is no superuser, so the ledger's append-only triggers bind it.
# A volume initialised before this script existed: run the same statements by
# hand (docs/runbook.md, "Database roles").
set -e
: "${CHECKOUT_DB_APP_PASSWORD:?CHECKOUT_DB_APP_PASSWORD is required}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set app_password="$CHECKOUT_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE checkout_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';
-- it creates nothing (Postgres 15 and later refuse it already; said for older servers)
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
