#!/usr/bin/env bash
# Starts the whole system on a fresh machine with Node 20: installs what it needs, then every process,
# the Meta simulator and a seeded demo recruiter (see scripts/demo.ts). Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node_modules/.bin/tsx --conditions=@linkojob/source scripts/demo.ts
