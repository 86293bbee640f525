#!/usr/bin/env bash
# The test command from the README: builds the solution, runs every test project, and prints
# one line "N passed, N failed" computed from the TRX results. Exit code: that of dotnet test.
set -uo pipefail
cd "$(dirname "$0")/.."
# The storage, orchestration and API tests run on a real Azurite from node_modules (package-lock.json pins it).
if [ ! -e node_modules/azurite/package.json ]; then
  npm ci --no-audit --no-fund
fi
results="artifacts/test-results"
rm -rf "$results"
dotnet test ServerlessMeta.sln -c Release --logger "trx" --results-directory "$results" "$@"
status=$?
passed=0
failed=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # dotnet test failed before or outside the tests (build error, crashed host): count it as a failure.
  failed=1
fi
echo "${passed} passed, ${failed} failed"
exit "$status"
