#!/usr/bin/env bash
# Retrieval regression gate on seeded samples of the shared eval sets (../shared/eval-data).
# Each sample indexes the gold documents of its questions plus random distractors, so the
# whole gate embeds about 1,200 passages (a few minutes on 2 cores). Floors sit just below the
# values measured on these exact samples; a retrieval regression fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${POLICYQA_EVAL_DATA:-../shared/eval-data}
export POLICYQA_CACHE_DIR=${POLICYQA_CACHE_DIR:-var/cache}
if [ ! -d "$DATA" ]; then
    echo "eval gate: $DATA not found; the shared eval sets are required" >&2
    exit 1
fi
.venv/bin/policyqa eval "$DATA/ncp-policy-qa" --limit 80 --max-docs 100 --seed 7 \
    --fail-under passage_hit@5=0.80 --fail-under doc_hit@5=0.90
.venv/bin/policyqa eval "$DATA/msgabench-gov-faq" --limit 150 --max-docs 400 --seed 7 \
    --fail-under doc_hit@5=0.80 --fail-under doc_mrr@10=0.65
