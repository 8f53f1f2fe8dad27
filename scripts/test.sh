#!/usr/bin/env bash
# Set up, then run every check: lint, format, types and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Browser tests (tests/e2e) drive Debian's Chromium with Playwright (never `playwright install`), and their
# accessibility check installs a pinned axe-core with npm (tests/e2e/conftest.py): install both once when missing
# and we are root; without them those tests skip, except under CI=true, where they fail.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} for the browser tests ..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/dev/null \
    || echo "warning: could not install ${missing[*]}; the browser tests will skip (or fail under CI=true)" >&2
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check assistant tests scripts benchmarks
.venv/bin/ruff format --check assistant tests scripts benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
