#!/bin/sh
# Temporal's two databases on Postgres (history and visibility), created if
# missing and brought to the schema the server version expects, with
# temporal-sql-tool and the schema it embeds. Safe to run again: an existing
# database is kept, and only the versions it lacks are applied.
#
# Run by docker-compose's temporal-schema job (admin-tools image) and by
# npm run start:cluster (stack/temporal-server.ts), with the variables
# deploy/temporal-server.yaml reads: POSTGRES_SEEDS, DB_PORT, POSTGRES_USER,
# POSTGRES_PWD, DBNAME, VISIBILITY_DBNAME. TEMPORAL_SQL_TOOL names the tool
# when it is not on PATH as temporal-sql-tool.
set -eu
tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the Postgres host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
# the password through the environment, not the command line (ps shows that)
export SQL_PASSWORD="${POSTGRES_PWD:?POSTGRES_PWD is required}"
sql() {
  "$tool" --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "${DB_PORT:-5432}" --user "$POSTGRES_USER" "$@"
}

setup() { # database, embedded schema
  # create-database fails on one that exists; a real problem (no connection) fails setup-schema below
  sql --database "$1" create-database >/dev/null 2>&1 || true
  sql --database "$1" setup-schema --version 0.0
  sql --database "$1" update-schema --schema-name "$2"
  echo "temporal-schema: $1 is at the latest $2 schema"
}

setup "${DBNAME:-temporal}" postgresql/v12/temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" postgresql/v12/visibility
