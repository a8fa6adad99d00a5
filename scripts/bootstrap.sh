#!/usr/bin/env bash
# Installs what the project needs on a fresh machine with Node 20 (and Go for FerretDB): pnpm, the
# workspace's dependencies and, when no MONGODB_URI is given and no Docker engine answers, FerretDB
# (which stores in the PostgreSQL at PG_URL when one answers, else in SQLite: packages/testing).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "installing pnpm $PNPM_VERSION" >&2
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || npm install -g "pnpm@$PNPM_VERSION"
fi
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
if [ -z "${MONGODB_URI:-}" ] && ! docker info >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { echo "redis-server is required (apt-get install redis-server)" >&2; exit 1; }
  bash packages/testing/bin/install-ferretdb.sh >/dev/null
fi
# A real browser for the inbox's browser test (e2e/): Debian's chromium (a browser download by a
# test tool cannot work here). Only as root, only when missing, only where apt exists; without it the
# browser test is skipped with a message.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium (apt-get)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium: the browser test will be skipped" >&2
fi
