#!/usr/bin/env bash
# The test command (README): set up, type-check, run every test. Fails when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
echo "== mypy"
bash scripts/typecheck.sh || exit 1
echo "== guidewalk validate"
.venv/bin/guidewalk validate || exit 1
echo "== pytest"
.venv/bin/python -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "pytest ran no tests: that is a failure here" >&2
  exit 1
fi
exit $rc
