#!/usr/bin/env bash
# Retrieval regression gate on seeded samples of the shared eval sets (../shared/eval-data).
# Each sample indexes the gold documents of its questions plus random distractors, so the
# whole gate embeds about 1,550 passages (4 minutes on 2 cores; cached in POLICYQA_CACHE_DIR).
# Floors sit just below the values measured on these exact samples (ncp: passage_hit@5 0.950,
# doc_hit@5 0.988; FAQ: doc_hit@5 0.940, doc_mrr@10 0.847); a retrieval regression fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${POLICYQA_EVAL_DATA:-../shared/eval-data}
export POLICYQA_CACHE_DIR=${POLICYQA_CACHE_DIR:-var/cache}
if [ ! -d "$DATA" ]; then
    echo "eval gate: $DATA not found; the shared eval sets are required" >&2
    exit 1
fi
.venv/bin/policyqa eval "$DATA/ncp-policy-qa" --limit 80 --max-docs 100 --seed 7 \
    --fail-under passage_hit@5=0.92 --fail-under doc_hit@5=0.96
.venv/bin/policyqa eval "$DATA/msgabench-gov-faq" --limit 150 --max-docs 400 --seed 7 \
    --fail-under doc_hit@5=0.91 --fail-under doc_mrr@10=0.82
