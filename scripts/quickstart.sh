#!/usr/bin/env bash
# Install, index the bundled demo corpus into the embedded default (local Chroma under
# var/index, bundled multilingual-e5-small, no API key) and ask it a question.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/policyqa ingest policyqa/demo_corpus
.venv/bin/policyqa search "小微企业稳岗返还的比例是多少？" --top-k 3
.venv/bin/policyqa search "How long do I have to return an unused item?" --top-k 2
