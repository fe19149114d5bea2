#!/usr/bin/env bash
# Regenerate constraints.txt: the exact versions of everything the test set-up installs, so CI
# and every developer install the same. Run after changing dependencies in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
"$work/venv/bin/python" -m pip install -q ".[test,fhir]" 2>/dev/null || "$work/venv/bin/python" -m pip install -q ".[test]"
{
  echo "# Pinned versions of everything CI installs (pip install -c constraints.txt ...)."
  echo "# Regenerate after changing dependencies: bash scripts/lock.sh"
  "$work/venv/bin/python" -m pip freeze --exclude-editable | grep -vi '^guidewalk[ =@]'
} > constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
