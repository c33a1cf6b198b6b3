#!/usr/bin/env bash
# Load test: one node on SQLite versus two nodes on one PostgreSQL
# database, with the same load generator in the same run. Talks only to
# 127.0.0.1. Usage: scripts/loadtest.sh [duration] [concurrency]
#   LATCHKEY_LOAD_POSTGRES_DSN  admin DSN (default: local postgres, db test)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
conc=${2:-16}
admin_dsn=${LATCHKEY_LOAD_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
work=$(mktemp -d)
db="latchkey_load_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$admin_dsn" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/latchkey" ./cmd/latchkey
CGO_ENABLED=0 go build -o "$work/load" ./cmd/latchkey-load
id=load-admin
secret=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
export LATCHKEY_BOOTSTRAP_CLIENT_ID=$id LATCHKEY_BOOTSTRAP_CLIENT_SECRET=$secret LATCHKEY_LOG_LEVEL=warn

start() { # addr db
  # The register scenario's clients hold api:read, which must be defined;
  # no metrics listener, so that two nodes (and other runs) do not fight
  # over its port.
  "$work/latchkey" serve --addr "$1" --db "$2" --issuer http://latchkey.load.test \
    --scopes "api:public api:read" --metrics-addr "" >>"$work/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -fs "http://$1/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server on $1 did not start:"; cat "$work/server.log"; exit 1
}
load() { # label targets scenario
  printf '%-22s ' "$1"
  "$work/load" -targets "$2" -client-id "$id" -client-secret "$secret" -scenario "$3" -duration "$duration" -concurrency "$conc"
}

echo "== $(nproc) cores, $duration per scenario, concurrency $conc"
start 127.0.0.1:18181 "sqlite:$work/load.db"
load "1 node, SQLite" http://127.0.0.1:18181 token
load "1 node, SQLite" http://127.0.0.1:18181 register
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

psql "$admin_dsn" -qc "CREATE DATABASE $db" >/dev/null
pg_dsn=$(echo "$admin_dsn" | sed -E "s#/[^/?]+(\?|$)#/$db\1#")
export LATCHKEY_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
start 127.0.0.1:18182 "$pg_dsn"
start 127.0.0.1:18183 "$pg_dsn"
both=http://127.0.0.1:18182,http://127.0.0.1:18183
load "2 nodes, PostgreSQL" "$both" token
load "2 nodes, PostgreSQL" "$both" register
load "1 of them, PostgreSQL" http://127.0.0.1:18182 token
