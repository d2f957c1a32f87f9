#!/usr/bin/env bash
# A private PostgreSQL for the voting server's tests: its own data directory, on 127.0.0.1 only,
# port ${SIVEI_PG_PORT:-54329}, user "sivei" trusted. Installs Debian's postgresql when missing.
# Idempotent and quiet; prints the database URL (what SIVEI_TEST_POSTGRES_URL expects).
set -euo pipefail
PORT="${SIVEI_PG_PORT:-54329}"
DIR="${SIVEI_PG_DIR:-/tmp/sivei-postgres-$PORT}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
# PostgreSQL refuses to run as root: as root, run it as the postgres user Debian creates.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -f "$DIR/PG_VERSION" ]; then
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
  as_pg "$BIN/initdb" -D "$DIR" -U sivei --auth=trust -E UTF8 >/dev/null
  # The port goes in postgresql.conf (not on the command line), listen_addresses quoted.
  as_pg tee -a "$DIR/postgresql.conf" >/dev/null <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
fi
if ! as_pg "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 start >/dev/null
fi
echo "postgresql://sivei@127.0.0.1:$PORT/postgres"
