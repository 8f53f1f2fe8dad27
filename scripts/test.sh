#!/usr/bin/env bash
# Set up, then run every check: lint, format, types and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check assistant tests scripts benchmarks
.venv/bin/ruff format --check assistant tests scripts benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
