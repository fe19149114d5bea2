#!/usr/bin/env bash
# The installed product, as a new user gets it: build the wheel, install it (not editable)
# into a fresh virtualenv with the pinned dependencies, and from an empty temporary folder run
# list, run on a bundled case, score, render and lint. Fails on any error, on a wheel that
# carries a top-level `engine` or `render`, or on a command that checks nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== build the wheel"
.venv/bin/python -m build --wheel --outdir "$work/dist" . >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/guidewalk-*.whl)
# the listing is read once into a file: `unzip | grep -q` under pipefail fails when grep stops
# reading early and unzip gets SIGPIPE
unzip -Z1 "$wheel" > "$work/listing"
unzip -p "$wheel" '*.dist-info/METADATA' > "$work/METADATA"
top_level=$(cut -d/ -f1 "$work/listing" | sort -u | grep -v '\.dist-info$' || true)
if [ "$top_level" != "guidewalk" ]; then
  echo "the wheel must hold one top-level package, guidewalk; it holds: $top_level" >&2
  exit 1
fi
for must in guidewalk/guidelines/facts.yaml guidewalk/guidelines/brain-metastases-2020/guideline.yaml \
            guidewalk/guidelines/schemas/guideline.schema.json guidewalk/flowcharts/spinal-metastases.svg \
            guidewalk/guidelines/spinal-metastases/first-pages.json \
            guidewalk/examples/cases/lecture-case-1.yaml guidewalk/py.typed; do
  grep -qx "$must" "$work/listing" || { echo "the wheel lacks $must" >&2; exit 1; }
done
grep -q '^License-Expression: Apache-2.0' "$work/METADATA" || { echo "no licence metadata" >&2; exit 1; }

echo "== install into a fresh virtualenv: $(basename "$wheel")[lint]"
"$PY" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip >/dev/null
"$work/venv/bin/python" -m pip install -q -c "$top/constraints.txt" "$wheel[lint]" >"$work/pip.log" 2>&1 || { tail -n 30 "$work/pip.log"; exit 1; }
gw="$work/venv/bin/guidewalk"
site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for bad in engine render; do
  [ ! -e "$site/$bad" ] || { echo "site-packages holds a top-level '$bad'" >&2; exit 1; }
done

mkdir "$work/elsewhere" && cd "$work/elsewhere"
case_file=$("$work/venv/bin/python" -c 'import importlib.resources as r; print(r.files("guidewalk") / "examples" / "cases" / "lecture-case-1.yaml")')
echo "== from $(pwd)"
set -x
"$gw" --version
grep -q '^brain-metastases-2020 ' <<<"$("$gw" list)"
grep -q '^spinal-metastases ' <<<"$("$gw" list)"
"$work/venv/bin/python" -m guidewalk list --format json | "$work/venv/bin/python" -c 'import json,sys; assert len(json.load(sys.stdin)) == 3'
"$gw" validate >/dev/null
grep -q "^  22 modules: " <<<"$("$gw" list --coverage brain-metastases-2020)"
"$gw" run brain-metastases-2020 --facts "$case_file" --format json | "$work/venv/bin/python" -c 'import json,sys; r=json.load(sys.stdin); assert r["status"] == "complete", r["status"]; assert r["recommendations"]'
grep -q 'The guideline recommends' <<<"$("$gw" run brain-metastases-2020 --facts "$case_file")"
printf 'kps: 80\n' > kps.yaml
"$gw" score kps_to_ecog --facts kps.yaml --format json | "$work/venv/bin/python" -c 'import json,sys; r=json.load(sys.stdin); assert r["score"] == "kps_to_ecog"'
"$gw" render spinal-metastases -o spinal.svg
grep -q '<svg' spinal.svg
"$gw" render --all --check >/dev/null
"$gw" lint spinal-metastases >/dev/null
grep -q 'guidewalk/guidelines/schemas/guideline.schema.json' <<<"$("$gw" schema --path)"
set +x
echo "wheel smoke test: ok"
