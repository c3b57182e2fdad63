#!/usr/bin/env bash
# Install, index the bundled demo corpus into the embedded default (local Chroma under
# var/index, bundled multilingual-e5-small, no API key), answer a question from the command
# line, then serve the chat app and API on http://127.0.0.1:7860 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/policyqa ingest policyqa/demo_corpus
.venv/bin/policyqa ask "小微企业稳岗返还的比例是多少？"
.venv/bin/policyqa demo
