#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv: torch's CPU build first, then the project
# with the pinned versions of constraints.txt. Idempotent: does nothing when .venv is already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "error: Python 3.11 is required (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }

stamp=.venv/.setup-stamp
want=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/assistant ]; then
  exit 0
fi
echo "setting up .venv (first time: about a minute) ..." >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
# torch first and pinned: an unpinned torch resolves to a CUDA build with gigabytes of NVIDIA packages.
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev,onnx,postgres,milvus,ray]"
echo "$want" > "$stamp"
echo "set-up done: .venv" >&2
