#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, type-checks, then runs every
# project's tests against a real Redis and a real MongoDB-protocol server (MONGODB_URI / REDIS_URL
# when set; else testcontainers when Docker answers; else FerretDB and a redis-server of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
pnpm exec tsc -p tsconfig.json --noEmit
exec pnpm exec vitest run "$@"
