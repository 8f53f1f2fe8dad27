#!/usr/bin/env bash
# Fuzz the HTTP API against its own OpenAPI spec with schemathesis, all checks, a fixed seed: expect 0 failures.
# Serves the index in INDEX (default ./index, built from corpus/ on first use) on PORT with an API key set, so
# the auth checks run too (both rate limits off: schemathesis expects 401 for every wrong key); conversations go
# to a temporary folder. Extra arguments go to `schemathesis run`.
#   bash scripts/schemathesis.sh                       # seed 20261124, 50 examples per operation
#   INDEX=/tmp/idx SEED=7 EXAMPLES=200 bash scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PORT=${PORT:-8799}
SEED=${SEED:-20261124}
EXAMPLES=${EXAMPLES:-50}
KEY=schemathesis-key
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

ASSISTANT_DATA_DIR="$work/data" ASSISTANT_API__API_KEYS="[\"$KEY\"]" ASSISTANT_API__RATE_LIMIT_PER_MINUTE=0 ASSISTANT_API__AUTH_FAILURES_PER_MINUTE=0 \
  .venv/bin/assistant serve ${INDEX:+--index "$INDEX"} --port "$PORT" 2>"$work/server.log" &
server=$!
for _ in $(seq 600); do  # the index loads (or is built) in the background: wait until it is ready
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 1
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "error: the server never became ready" >&2; exit 1; }

root=$PWD
cd "$work"  # schemathesis leaves a .schemathesis/ folder in the current directory
"$root/.venv/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" \
  --checks all --seed "$SEED" --max-examples "$EXAMPLES" --workers 2 \
  --header "Authorization: Bearer $KEY" --generation-database none --no-color "$@"
