#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, type-checks, lints, checks the
# formatting, builds every workspace to dist/ (the production install test starts those builds), then
# runs every project's tests against a real Redis and a real MongoDB-protocol server (MONGODB_URI /
# REDIS_URL when set; else testcontainers when Docker answers; else FerretDB and a redis-server of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "type-check" >&2
pnpm exec tsc -p tsconfig.json --noEmit
echo "lint" >&2
pnpm exec eslint --max-warnings=0 .
echo "format" >&2
pnpm exec prettier --check . --log-level=warn
echo "build" >&2
pnpm -r --reporter=append-only run build
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
