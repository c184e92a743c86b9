#!/bin/sh
# First start of the postgres container (docker-entrypoint-initdb.d): the two roles of edc.dbroles.
#   edc_owner  owns the database and every table; only the one-shot `migrate` service logs in with it.
#   edc_app    web, worker and beat: not superuser, not owner, no TRUNCATE; its table privileges are
#              granted after every migrate (edc.dbroles.harden), default privileges cover new tables.
# The superuser (POSTGRES_USER) is for this script and for the operator, never for the application.
set -eu
: "${EDC_OWNER_PASSWORD:?set EDC_OWNER_PASSWORD}" "${EDC_APP_PASSWORD:?set EDC_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v owner_password="$EDC_OWNER_PASSWORD" -v app_password="$EDC_APP_PASSWORD" <<'SQL'
CREATE ROLE edc_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'owner_password';
CREATE ROLE edc_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';
ALTER DATABASE edc OWNER TO edc_owner;
ALTER SCHEMA public OWNER TO edc_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE edc FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE edc TO edc_owner, edc_app;
GRANT USAGE ON SCHEMA public TO edc_app;
ALTER DEFAULT PRIVILEGES FOR ROLE edc_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO edc_app;
ALTER DEFAULT PRIVILEGES FOR ROLE edc_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO edc_app;
SQL
