#!/usr/bin/env bash
# The test command (README): set up, lint, type-check, validate, run every test. Fails when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
echo "== ruff (lint and format)"
.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . || { echo "run: .venv/bin/ruff format ." >&2; exit 1; }
echo "== mypy (strict)"
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
