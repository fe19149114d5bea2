#!/usr/bin/env bash
# The demo command (README): set up, then walk the bundled example case through the
# brain-metastases-2020 guideline and print the traced path.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/guidewalk run brain-metastases-2020 --facts examples/cases/lecture-case-1.yaml
