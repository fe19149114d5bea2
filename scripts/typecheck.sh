#!/usr/bin/env bash
# mypy over the one import package `guidewalk`. The package is assembled by setuptools from
# top-level folders (guidewalk/, engine/, render/); mypy reads folders, not import hooks, so
# it checks a tree of symbolic links with the installed layout (build/typecheck/guidewalk).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
tree=build/typecheck/guidewalk
rm -rf build/typecheck && mkdir -p "$tree"
for f in guidewalk/*; do ln -s "$top/$f" "$tree/$(basename "$f")"; done
ln -s "$top/engine" "$tree/engine"
ln -s "$top/render" "$tree/render"
cd build/typecheck
exec "$top/.venv/bin/mypy" --config-file "$top/pyproject.toml" -p guidewalk "$@"
