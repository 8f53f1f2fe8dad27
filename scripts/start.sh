#!/usr/bin/env bash
# The main job: set up, build the index of the shipped corpus (once), answer a sample question, then serve
# the API and chat page on http://127.0.0.1:${PORT:-8000}/ (Ctrl-C stops it). NO_SERVE=1 stops after the answer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TRANSFORMERS_OFFLINE=${TRANSFORMERS_OFFLINE:-1}
.venv/bin/assistant ask "Do ALS patients typically present with combined upper and lower motor neuron signs?"
[ -n "${NO_SERVE:-}" ] && exit 0
echo "serving the chat page and API on http://${HOST:-127.0.0.1}:${PORT:-8000}/ (Ctrl-C to stop)" >&2
exec .venv/bin/assistant serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
