#!/usr/bin/env bash
# Set up, then run every check: lint, format, types and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Browser tests (tests/e2e) drive Debian's Chromium with Playwright (never `playwright install`): install it once
# when missing and we are root; without it those tests skip, except under CI=true, where they fail.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the browser tests ..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null \
    || echo "warning: could not install chromium; the browser tests will skip (or fail under CI=true)" >&2
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check assistant tests scripts benchmarks
.venv/bin/ruff format --check assistant tests scripts benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
