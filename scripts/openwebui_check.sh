#!/usr/bin/env bash
# Open WebUI against our API, end to end: a manual check, NOT run by the test suite (Open WebUI and its
# dependencies take a few GB of disk and need PyPI; its first start may also download its own RAG embedding model).
#
# It installs open-webui (pinned) into a throwaway venv, starts our API (keys required) and Open WebUI pointed at
# it (OPENAI_API_BASE_URL, OPENAI_API_KEY, WEBUI_AUTH=False, a temporary DATA_DIR), waits for both, then uses
# Open WebUI's own API with curl: the model list, one chat completion, one streamed one. Prints PASS/FAIL per
# check and exits non-zero on any FAIL. Both servers are stopped on exit, however it ends.
#
#   bash scripts/openwebui_check.sh
#
# Settings (environment): OPENWEBUI_VERSION (0.12.4), OPENWEBUI_VENV (reuse a venv with it installed instead of
# a throwaway one), PYTHON (python3.11; Open WebUI needs 3.11 or 3.12), API_PORT (8765), WEBUI_PORT (8766),
# QUESTION, START_TIMEOUT_S (900), KEEP_WORK=1 (keep the temporary folder: logs, Open WebUI's data).
set -euo pipefail
cd "$(dirname "$0")/.."

OPENWEBUI_VERSION=${OPENWEBUI_VERSION:-0.12.4}
PYTHON=${PYTHON:-python3.11}
API_PORT=${API_PORT:-8765}
WEBUI_PORT=${WEBUI_PORT:-8766}
QUESTION=${QUESTION:-How is ALS diagnosed?}
START_TIMEOUT_S=${START_TIMEOUT_S:-900}
MODEL=clinical-followup-assistant
API=http://127.0.0.1:${API_PORT}
WEBUI=http://127.0.0.1:${WEBUI_PORT}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/openwebui-check.XXXXXX")
VENV=${OPENWEBUI_VENV:-$WORK/venv}
API_KEY="openwebui-check-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
api_pid=""
webui_pid=""
failures=0

log() { printf '%s\n' "$*" >&2; }

stop() {  # stop one process we started, by its pid: TERM, then KILL after 20 s
  local pid=$1 name=$2
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop on TERM: KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$webui_pid" "Open WebUI"
  stop "$api_pid" "the API"
  if [ "$rc" -ne 0 ]; then
    for f in "$WORK/api.log" "$WORK/webui.log"; do
      [ -f "$f" ] && { log "--- last lines of $f"; tail -n 30 "$f" >&2; }
    done
  fi
  if [ -n "${KEEP_WORK:-}" ]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for tool in curl "$PYTHON"; do
  command -v "$tool" >/dev/null 2>&1 || { log "error: $tool is required"; exit 2; }
done

wait_for() {  # URL NAME PID: until URL answers 2xx, the process dies, or START_TIMEOUT_S passes
  local url=$1 name=$2 pid=$3 start=$SECONDS
  log "waiting for $name at $url ..."
  until curl -fs -o /dev/null --max-time 5 "$url"; do
    kill -0 "$pid" 2>/dev/null || { log "error: $name exited"; return 1; }
    if [ $((SECONDS - start)) -ge "$START_TIMEOUT_S" ]; then
      log "error: $name not up after ${START_TIMEOUT_S}s"
      return 1
    fi
    sleep 2
  done
  log "$name is up ($((SECONDS - start))s)"
}

check() {  # NAME PYTHON-EXPRESSION-ON-`body`: PASS or FAIL; the JSON body is read from stdin
  local name=$1 expr=$2 out
  if out=$("$VENV/bin/python" -c '
import json, sys
expr, raw = sys.argv[1], sys.stdin.read()
try:
    ok = bool(eval(expr, {"body": json.loads(raw), "json": json}))
except Exception:  # not JSON, or not the shape expected
    ok = False
print("" if ok else (raw[:800] or "(nothing)"))
sys.exit(0 if ok else 1)
' "$expr"); then
    echo "PASS  $name"
  else
    echo "FAIL  $name"
    [ -n "$out" ] && printf '      got: %s\n' "$out"
    failures=$((failures + 1))
  fi
}

# --- Open WebUI, in a venv of its own -----------------------------------------------------------------------
if [ ! -x "$VENV/bin/open-webui" ]; then
  log "installing open-webui==$OPENWEBUI_VERSION into $VENV (a few minutes, a few GB) ..."
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "open-webui==$OPENWEBUI_VERSION"
fi

# --- our API (as scripts/start.sh sets it up), requiring a key ---------------------------------------------
bash scripts/setup.sh
log "starting the API on $API (first start builds the index of the shipped corpus) ..."
HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TRANSFORMERS_OFFLINE=${TRANSFORMERS_OFFLINE:-1} \
  ASSISTANT_API__API_KEYS="[\"$API_KEY\"]" \
  .venv/bin/assistant serve --host 127.0.0.1 --port "$API_PORT" >"$WORK/api.log" 2>&1 &
api_pid=$!
wait_for "$API/readyz" "the API" "$api_pid"

# --- Open WebUI pointed at it ------------------------------------------------------------------------------
log "starting Open WebUI $OPENWEBUI_VERSION on $WEBUI ..."
mkdir -p "$WORK/webui-data"
(
  cd "$WORK"  # open-webui writes files into its working folder
  exec env DATA_DIR="$WORK/webui-data" \
    WEBUI_AUTH=False \
    WEBUI_SECRET_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" \
    ENABLE_OLLAMA_API=False \
    ENABLE_OPENAI_API=True \
    OPENAI_API_BASE_URL="$API/v1" \
    OPENAI_API_KEY="$API_KEY" \
    SCARF_NO_ANALYTICS=true DO_NOT_TRACK=true ANONYMIZED_TELEMETRY=false \
    OFFLINE_MODE=true HF_HUB_OFFLINE=1 \
    "$VENV/bin/open-webui" serve --host 127.0.0.1 --port "$WEBUI_PORT"
) >"$WORK/webui.log" 2>&1 &
webui_pid=$!
wait_for "$WEBUI/health" "Open WebUI" "$webui_pid"

# --- the checks, through Open WebUI's API ------------------------------------------------------------------
# With WEBUI_AUTH=False, signing in (any credentials) gives the single admin user's token.
token=$(curl -fsS --max-time 30 -X POST "$WEBUI/api/v1/auths/signin" -H 'Content-Type: application/json' \
  -d '{"email": "", "password": ""}' | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])')
auth=(-H "Authorization: Bearer $token")

curl -sS --max-time 60 "${auth[@]}" "$WEBUI/api/models" >"$WORK/models.json" || true
check "Open WebUI lists our model ($MODEL)" \
  '"'"$MODEL"'" in [m.get("id") for m in body.get("data", [])]' <"$WORK/models.json"

chat_request() {  # STREAM (true/false): the request body for QUESTION
  "$VENV/bin/python" -c 'import json, sys; print(json.dumps({"model": sys.argv[1],
    "messages": [{"role": "user", "content": sys.argv[2]}], "stream": sys.argv[3] == "true"}))' \
    "$MODEL" "$QUESTION" "$1"
}
curl -sS --max-time 120 "${auth[@]}" -H 'Content-Type: application/json' -d "$(chat_request false)" \
  "$WEBUI/api/chat/completions" >"$WORK/chat.json" || true
cited='(lambda c: "[1]" in c and "### References" in c and "\n1. " in c.split("### References")[1]
         and "<http" in c.split("### References")[1])'
check "a chat completion through Open WebUI has [n] citations and linked References" \
  "$cited"'(body["choices"][0]["message"]["content"])' <"$WORK/chat.json"

curl -sS -N --max-time 120 "${auth[@]}" -H 'Content-Type: application/json' -d "$(chat_request true)" \
  "$WEBUI/api/chat/completions" >"$WORK/stream.txt" || true
"$VENV/bin/python" -c '
import json, sys
text = []
for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith("data: ") and line[6:].strip() != "[DONE]":
        try:
            chunk = json.loads(line[6:])
        except ValueError:
            continue
        for choice in chunk.get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
print(json.dumps({"choices": [{"message": {"content": "".join(text)}}]}))
' "$WORK/stream.txt" >"$WORK/stream.json"
check "a streamed chat completion through Open WebUI adds up to cited, linked Markdown" \
  "$cited"'(body["choices"][0]["message"]["content"])' <"$WORK/stream.json"

# a chat as Open WebUI's page sends it: a session, a chat it saves, its built-in tools offered to the model
page_request() {
  "$VENV/bin/python" -c 'import json, sys, uuid
question = sys.argv[2]
user = {"id": str(uuid.uuid4()), "role": "user", "content": question, "parentId": None, "childrenIds": [],
        "timestamp": 0}
print(json.dumps({"model": sys.argv[1], "stream": True, "id": str(uuid.uuid4()), "parent_id": None,
                  "session_id": "openwebui-check", "user_message": user,
                  "messages": [{"role": "user", "content": question}]}))' "$MODEL" "$QUESTION"
}
curl -sS -N --max-time 180 "${auth[@]}" -H 'Content-Type: application/json' -d "$(page_request)" \
  "$WEBUI/api/chat/completions" >"$WORK/page.txt" || true
# the page gets {"status": true, "task_ids": [...], "chat_id": ...} back and the answer runs as a background task
# that saves the message while it streams: wait for the saved chat's assistant message to be done
for _ in $(seq 90); do
  "$VENV/bin/python" - "$WEBUI" "$token" "$WORK/page.txt" >"$WORK/page.json" <<'PY' && break
import json, sys, urllib.request
base, token, page = sys.argv[1], sys.argv[2], sys.argv[3]
def get(path):
    request = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    return json.load(urllib.request.urlopen(request, timeout=30))
try:
    chat_id = json.load(open(page, encoding="utf-8"))["chat_id"]
except (ValueError, KeyError, TypeError):
    sys.exit(1)
for message in get("/api/v1/chats/" + chat_id)["chat"]["history"]["messages"].values():
    if message.get("role") == "assistant" and (message.get("done") or message.get("error")):
        print(json.dumps(message))
        sys.exit(0)
sys.exit(1)
PY
  sleep 2
done
check "a chat as Open WebUI's page sends it (built-in tools offered) is answered, with our links as sources" \
  "$cited"'(body["content"]) and not body.get("error") and len(body.get("sources") or []) > 0' <"$WORK/page.json"

# what else of our response came through (information, not a check)
"$VENV/bin/python" -c '
import json, sys
try:
    body = json.load(open(sys.argv[1], encoding="utf-8"))
    message = body["choices"][0]["message"]
except (ValueError, KeyError, IndexError, TypeError):
    sys.exit(0)
for field, present in (("message.annotations", bool(message.get("annotations"))),
                       ("message.references", bool(message.get("references"))),
                       ("x_answer", "x_answer" in body)):
    verdict = "kept" if present else "dropped"
    print(f"INFO  {field} {verdict} by Open WebUI (a plain completion through /api/chat/completions)")
' "$WORK/chat.json"

if [ "$failures" -eq 0 ]; then
  echo "PASS  Open WebUI $OPENWEBUI_VERSION works with the API"
else
  echo "FAIL  $failures check(s) failed (KEEP_WORK=1 keeps the logs and responses)"
  exit 1
fi
