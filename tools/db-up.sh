#!/usr/bin/env bash
# Start Debian's PostgreSQL on 127.0.0.1 and make a role for the tests.
# Usage: tools/db-up.sh [PORT] [--url-only]. Idempotent. Prints the SQLAlchemy URL.
set -euo pipefail
port="${1:-5432}"
role=sohoa_test
password=sohoa_test
log() { [ "${2:-}" = "--url-only" ] || echo "$1" >&2; }

version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
if [ -z "$version" ]; then
    echo "PostgreSQL is not installed: run 'make system-deps' (Debian package postgresql)" >&2
    exit 1
fi
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
    pg_createcluster "$version" main -p "$port" >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
    pg_ctlcluster "$version" main start >&2
fi
as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"; else sudo -u postgres bash -c "$1"; fi; }
cluster_port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
for _ in $(seq 1 30); do
    as_postgres "pg_isready -q -h 127.0.0.1 -p $cluster_port" && break
    sleep 0.5
done
exists=$(as_postgres "psql -p $cluster_port -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$role'\"")
if [ "$exists" != "1" ]; then
    as_postgres "psql -q -p $cluster_port -c \"CREATE ROLE $role LOGIN CREATEDB CREATEROLE PASSWORD '$password'\""
fi
# Tests drop their databases WITH (FORCE), ending sessions of the auditor roles they made.
as_postgres "psql -q -p $cluster_port -c 'SET client_min_messages = warning' -c 'GRANT pg_signal_backend TO $role'" >/dev/null
log "PostgreSQL $version running on 127.0.0.1:$cluster_port" "${2:-}"
echo "postgresql+psycopg://$role:$password@127.0.0.1:$cluster_port/postgres"
