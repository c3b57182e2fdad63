#!/usr/bin/env bash
# Retrieval regression gate on seeded samples of the shared eval sets (../shared/eval-data).
# Each sample indexes the gold documents of its questions plus random distractors, so the
# whole gate embeds about 1,550 Chinese and 2,300 English passages (7 minutes on 2 cores in fp32,
# under 2 in int8;
# cached in POLICYQA_CACHE_DIR). Each Chinese sample also asks 60 questions of the other
# Chinese set, which the corpus must refuse. Floors (and
# ceilings) sit just beside the values measured on these exact samples, last on 2026-12-04
# with the int8 embedder (the default on a CPU with AVX512-VNNI; before it, bf16) -- ncp:
# passage_hit@5 0.975 (0.963 with bf16, one question of 80), passage_mrr@10 0.851 (0.853),
# doc_hit@5 1.000, answer_contains 0.850 (0.812 before an item brought its sub-items and a list
# its rest, 0.825 before a question that asks for several things read on farther, 0.838 before
# a Q&A notice's question line took none of the reach and the metric read 後 as 后),
# refusal_accuracy 0.983, false_refusal_rate 0.025; FAQ: doc_hit@5 0.947, doc_mrr@10 0.845
# (0.846), citation_precision 0.759 (0.764) and citation_recall 0.857 (0.871 with bf16: one
# answer's document fell from rank 3 to 4 and left the citations; 0.701 and 0.803 before a
# one-line document's line was quoted), refusal_accuracy 0.983, false_refusal_rate 0.113
# (0.120); handbook (English, 25 pages, about 2 minutes more): passage_hit@5 0.950,
# passage_mrr@10 0.823 (0.831-0.844), answer_contains 0.733 (0.933, 0.806-0.819 and 0.700 before
# follow-ups stepped from the entry the earlier question names), false_refusal_rate 0.000;
# privacy (English, the whole corpus of 572 passages, 300 questions, each searched within its
# policy): doc_hit@5 0.563 (0.570), doc_mrr@10 0.355, answer_contains 0.333 (0.340),
# false_refusal_rate 0.057 (0.047) --
# so a retrieval, answer or refusal regression fails CI, in either language.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${POLICYQA_EVAL_DATA:-../shared/eval-data}
export POLICYQA_CACHE_DIR=${POLICYQA_CACHE_DIR:-var/cache}
if [ ! -d "$DATA" ]; then
    echo "eval gate: $DATA not found; the shared eval sets are required" >&2
    exit 1
fi
.venv/bin/policyqa eval "$DATA/ncp-policy-qa" --limit 80 --max-docs 100 --seed 7 \
    --negatives-from "$DATA/msgabench-gov-faq" --negatives 60 \
    --fail-under passage_hit@5=0.95 --fail-under passage_mrr@10=0.84 \
    --fail-under doc_hit@5=0.98 --fail-under answer_contains=0.84 \
    --fail-under refusal_accuracy=0.95 --fail-over false_refusal_rate=0.04
.venv/bin/policyqa eval "$DATA/msgabench-gov-faq" --limit 150 --max-docs 400 --seed 7 \
    --negatives-from "$DATA/ncp-policy-qa" --negatives 60 \
    --fail-under doc_hit@5=0.93 --fail-under doc_mrr@10=0.83 \
    --fail-under citation_precision=0.75 --fail-under citation_recall=0.85 \
    --fail-under refusal_accuracy=0.95 --fail-over false_refusal_rate=0.13
.venv/bin/policyqa eval "$DATA/gitlab-handbook-rag" --limit 60 --max-docs 25 --seed 7 \
    --fail-under passage_hit@5=0.93 --fail-under passage_mrr@10=0.81 \
    --fail-under answer_contains=0.71 --fail-over false_refusal_rate=0.02
.venv/bin/policyqa eval "$DATA/policyqa-privacy" --limit 300 --seed 7 \
    --fail-under doc_hit@5=0.55 --fail-under doc_mrr@10=0.34 \
    --fail-under answer_contains=0.33 --fail-over false_refusal_rate=0.06
