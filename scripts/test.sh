#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, type-checks, then runs every
# project's tests against a real Redis and a real MongoDB-protocol server (MONGODB_URI / REDIS_URL
# when set; else testcontainers when Docker answers; else FerretDB and a redis-server of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
pnpm exec tsc -p tsconfig.json --noEmit
mkdir -p .tmp
set +e
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-results.json "$@"
status=$?
set -e
# One plain closing line that any CI reads: "tests: N passed, N failed, N skipped".
if [ -f .tmp/vitest-results.json ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(".tmp/vitest-results.json", "utf8"));
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  '
fi
exit $status
