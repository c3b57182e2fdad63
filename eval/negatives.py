"""Questions a corpus cannot answer, built at eval time from another shared set (no rows are
copied into the repo): the other set's questions, minus those on topics both corpora cover."""

from __future__ import annotations

import re
from dataclasses import replace

from eval.datasets import EvalQuery, EvalSet

# Questions on these topics can be answered by both corpora, so they are no negatives.
OVERLAP = {
    "ncp-policy-qa": re.compile(r"疫情|新冠|肺炎|防控|口罩|复工|复产|返岗|隔离|病毒"),
    "msgabench-gov-faq": re.compile(r"北京"),
}


def negative_questions(target: EvalSet, other: EvalSet, limit: int, seed: int) -> list[EvalQuery]:
    """Up to ``limit`` of ``other``'s questions as should-refuse questions for ``target``."""
    pattern = OVERLAP.get(target.name)
    pool = other.sample(min(len(other.queries), limit * 3), seed)
    picked = [
        replace(q, qid=f"neg-{q.qid}", gold_doc_ids=(), answer=None, answer_start=None,
                alt_answers=(), evidence=(), history=(), scope=(), should_refuse=True)
        for q in pool.queries
        if not (pattern and pattern.search(q.question))
    ]  # fmt: skip
    return picked[:limit]


def with_negatives(target: EvalSet, other: EvalSet, limit: int, seed: int) -> EvalSet:
    negatives = negative_questions(target, other, limit, seed)
    return replace(target, queries=target.queries + tuple(negatives))
