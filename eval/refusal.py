"""Refusal calibration: how strongly do retrieved passages support answerable questions,
compared with questions the corpus cannot answer?

Negatives are built at run time from the shared sets (nothing is copied into the repo): the
questions of one set asked against another set's corpus (Beijing FAQ questions against the
2020 policy notices, and the reverse), minus questions that the other corpus might answer by
accident (topic words the two corpora share, see ``eval.negatives.OVERLAP``).

Run: ``python -m eval.refusal ../shared/eval-data`` (uses the cached eval indexes).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from chatbot.extractive import select_sentences
from chatbot.retrieval import HybridRetriever
from chatbot.service import RefusalPolicy, evidence
from eval.datasets import load_jsonl_set
from eval.negatives import negative_questions
from eval.run import build_index, make_retriever
from index_store.settings import Settings, get_settings


@dataclass(frozen=True)
class Features:
    coverage: float
    dense: float


def features(retriever: HybridRetriever, questions: list[str]) -> list[Features]:
    idf = retriever.store.keyword_index().idf
    out = []
    for q in questions:
        hits = retriever.search(q, top_k=5)
        out.append(Features(*evidence(hits, select_sentences(q, hits, 3, idf))))
    return out


def rates(policy: RefusalPolicy, pos: list[Features], neg: list[Features]) -> tuple[float, float]:
    """(refusal accuracy on negatives, false-refusal rate on positives)."""
    refused_neg = sum(policy.refuses(f.coverage, f.dense) for f in neg)
    refused_pos = sum(policy.refuses(f.coverage, f.dense) for f in pos)
    return refused_neg / max(len(neg), 1), refused_pos / max(len(pos), 1)


def calibrate(
    pos: list[Features], neg: list[Features], max_false_refusal: float = 0.05
) -> tuple[RefusalPolicy, float, float]:
    """The policy with the best refusal accuracy whose false-refusal rate stays within bound."""
    best = (RefusalPolicy(0.0, 0.0), 0.0, 0.0)
    for c in [i / 100 for i in range(0, 101, 2)]:
        for d in [0.70 + i / 200 for i in range(0, 61)] + [1.01]:
            policy = RefusalPolicy(min_coverage=c, min_dense=d)
            acc, false = rates(policy, pos, neg)
            if false <= max_false_refusal and acc > best[1]:
                best = (policy, acc, false)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", type=Path, help="folder with ncp-policy-qa and msgabench-gov-faq")
    parser.add_argument("--limit", type=int, default=300, help="questions per side and set")
    args = parser.parse_args()
    settings: Settings = get_settings()
    names = ["ncp-policy-qa", "msgabench-gov-faq"]
    sets = {n: load_jsonl_set(args.data / n) for n in names}
    pos: list[Features] = []
    neg: list[Features] = []
    for name in names:
        own = sets[name]
        retriever = make_retriever(build_index(own, settings), settings)
        sample = own.sample(args.limit, seed=11)
        pos += features(retriever, [q.question for q in sample.queries])
        other = next(sets[n] for n in names if n != name)
        negatives = negative_questions(own, other, args.limit, seed=11)
        neg += features(retriever, [q.question for q in negatives])
    policy, acc, false = calibrate(pos, neg)
    print(f"positives={len(pos)} negatives={len(neg)}")
    print(f"chosen min_coverage={policy.min_coverage:.2f} min_dense={policy.min_dense:.3f}")
    print(f"refusal_accuracy={acc:.3f} false_refusal_rate={false:.3f}")
    current = RefusalPolicy()
    cur_acc, cur_false = rates(current, pos, neg)
    print(f"default policy: refusal_accuracy={cur_acc:.3f} false_refusal_rate={cur_false:.3f}")


if __name__ == "__main__":
    main()
