#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, type-checks, lints, checks the
# formatting, builds every workspace to dist/ (the production install test starts those builds), then
# runs the three layers of tests, fastest first, each timed:
#   unit     pure code, no service at all                          (pnpm test:unit)
#   service  each app and package on a real Redis and MongoDB-protocol server (pnpm test:service)
#   system   e2e/: the whole gateway as processes                  (pnpm test:system)
# Services: MONGODB_URI / REDIS_URL when set; else testcontainers when Docker answers; else FerretDB
# and a redis-server of its own. Arguments are handed to one vitest run instead (a file, a project).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
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
rm -f .tmp/vitest-*.json

status=0
timings=()
# run_layer NAME VITEST-ARGS...: one vitest run, its JSON results in .tmp/vitest-NAME.json.
run_layer() {
  local name=$1 t0=$SECONDS
  shift
  echo "tests: $name layer" >&2
  pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=".tmp/vitest-$name.json" "$@" || status=1
  timings+=("$name $((SECONDS - t0)) s")
}
if [ $# -gt 0 ]; then
  run_layer selection "$@"
else
  run_layer unit --project unit
  run_layer service --project 'service:*'
  run_layer system --project system
fi

# The layers' times, then one plain closing line that any CI reads: "tests: N passed, N failed, N skipped".
node -e '
  const fs = require("fs");
  const [timings, total] = [process.argv[1].split("\n").filter(Boolean), process.argv[2]];
  const sum = { passed: 0, failed: 0, skipped: 0 };
  for (const t of timings) {
    const name = t.split(" ")[0];
    const file = `.tmp/vitest-${name}.json`;
    if (!fs.existsSync(file)) { console.log(`layer ${name}: no results (${t.slice(name.length + 1)})`); sum.failed++; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`layer ${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped in ${t.slice(name.length + 1)}`);
    sum.passed += r.numPassedTests; sum.failed += r.numFailedTests; sum.skipped += skipped;
  }
  console.log(`whole run (install, checks, build, tests): ${total} s`);
  console.log(`tests: ${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped`);
' "$(printf '%s\n' "${timings[@]}")" "$((SECONDS - started))"
exit $status
