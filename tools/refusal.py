"""Refusal calibration: how strongly do retrieved passages support answerable questions,
compared with questions the corpus cannot answer?

Negatives are built at run time from the shared sets (nothing is copied into the repo): the
questions of one set asked against another set's corpus (Beijing FAQ questions against the
2020 policy notices, and the reverse; GitLab handbook questions against a privacy policy),
minus questions that the other corpus might answer by
accident (topic words the two corpora share, see ``eval.negatives.OVERLAP``). Chinese and
English get their own thresholds: the model's similarities and the questions' wording differ.

Near misses are harder: each answerable question asked of its own library with the documents
that answer it left out. The library is still on its topics; the tool prints the share of them
the rule in use refuses, and of the questions it answers, the share each side gets as perhaps
not answered in full (``RefusalPolicy.partial``).

Run: ``python -m tools.refusal ../shared/eval-data`` (uses the cached eval indexes). With
``--reranker features`` (or ``cross``) it also compares refusing by the second stage's
probability, alone and combined with the rule, on the same questions.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from chatbot.answering.evidence import RefusalPolicy, evidence
from chatbot.answering.extractive import select_sentences
from chatbot.answering.retrieval import HybridRetriever
from chatbot.answering.service import AnswerConfig
from eval.datasets import EvalQuery, load_eval_set
from eval.negatives import negative_questions
from index_store.settings import Settings, get_settings
from policyqa.compose import build_retriever
from policyqa.evaluation import build_eval_index, read_page


@dataclass(frozen=True)
class Features:
    coverage: float
    dense: float
    answerable: float = 0.0  # the second stage's probability for the best passage, if any


def features(
    retriever: HybridRetriever, queries: list[EvalQuery], without_gold: bool = False
) -> list[Features]:
    """Evidence strength for each question, searched within its scope if it has one, or, with
    ``without_gold``, among every document but the ones that answer it."""
    idf = retriever.store.keyword_index().idf
    # An eval set names a document by its source, as the eval index ingests it.
    sources = sorted({d.source for d in retriever.store.documents()}) if without_gold else []
    out = []
    for q in queries:
        filters: dict[str, list[str]] | None = {"source": list(q.scope)} if q.scope else None
        if without_gold:
            filters = {"source": [s for s in sources if s not in q.gold_doc_ids]}
        hits = retriever.search(q.question, top_k=5, filters=filters)
        found = evidence(q.question, hits, select_sentences(q.question, hits, 3, idf), idf)
        out.append(Features(*found, (hits[0].answerable or 0.0) if hits else 0.0))
    return out


def rates(policy: RefusalPolicy, pos: list[Features], neg: list[Features]) -> tuple[float, float]:
    """(refusal accuracy on negatives, false-refusal rate on positives)."""
    refused_neg = sum(policy.refuses(f.coverage, f.dense) for f in neg)
    refused_pos = sum(policy.refuses(f.coverage, f.dense) for f in pos)
    return refused_neg / max(len(neg), 1), refused_pos / max(len(pos), 1)


def partial_share(policy: RefusalPolicy, answered: list[Features]) -> float:
    """The share of ``answered`` (questions not refused) answered as perhaps not in full."""
    shown = [f for f in answered if not policy.refuses(f.coverage, f.dense)]
    return sum(policy.partial(f.coverage, f.dense) for f in shown) / max(len(shown), 1)


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


# (answerable set, set whose questions it must refuse, language). The privacy questions are
# not asked of the handbook: its legal and security pages answer many of them. The privacy set
# is asked within one policy, so it makes no near misses (below).
PAIRS = [
    ("ncp-policy-qa", "msgabench-gov-faq", "zh"),
    ("msgabench-gov-faq", "ncp-policy-qa", "zh"),
    ("policyqa-privacy", "gitlab-handbook-rag", "en"),
    ("gitlab-handbook-rag", None, "en"),
]


def compare_model(
    policy: RefusalPolicy, pos: list[Features], neg: list[Features], near: list[Features]
) -> None:
    """Refusal accuracy / false refusals / near misses refused, by the second stage's
    probability below each threshold: alone, when the rule also refuses (both), and when
    either refuses."""
    rules: dict[str, Callable[[Features, float], bool]] = {
        "alone": lambda f, t: f.answerable < t,
        "both": lambda f, t: f.answerable < t and policy.refuses(f.coverage, f.dense),
        "either": lambda f, t: f.answerable < t or policy.refuses(f.coverage, f.dense),
    }
    for t in (0.05, 0.1, 0.2, 0.3, 0.5):
        cells = []
        for name, refuses in rules.items():
            acc = sum(refuses(f, t) for f in neg) / max(len(neg), 1)
            false = sum(refuses(f, t) for f in pos) / max(len(pos), 1)
            missed = sum(refuses(f, t) for f in near) / max(len(near), 1)
            cells.append(f"{name} {acc:.3f}/{false:.3f}/{missed:.3f}")
        print(f"  p < {t:.2f}: " + "  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", type=Path, help="the shared eval-data folder")
    parser.add_argument("--limit", type=int, default=300, help="questions per side and set")
    parser.add_argument("--reranker", choices=["off", "features", "cross"], default="off")
    args = parser.parse_args()
    settings: Settings = get_settings().model_copy(update={"reranker": args.reranker})
    sets = {name: load_eval_set(args.data / name, read_page) for name, *_ in PAIRS}
    pos: dict[str, list[Features]] = {"zh": [], "en": []}
    neg: dict[str, list[Features]] = {"zh": [], "en": []}
    # Near misses: each answerable question asked of its own library with the documents that
    # answer it left out. The rest of the library is on the same topics, unlike the other set's
    # questions, which is what a refusal finds hardest. A reprint or a similar FAQ entry may
    # still answer, so the share refused is a floor.
    near: dict[str, list[Features]] = {"zh": [], "en": []}
    rng = random.Random(11)
    for name, other, language in PAIRS:
        own = sets[name]
        retriever = build_retriever(settings, build_eval_index(own, settings))
        asked = list(own.sample(args.limit, seed=11).queries)
        pos[language] += features(retriever, asked)
        if not any(q.scope for q in asked):
            near[language] += features(retriever, asked, without_gold=True)
        if other is None:
            continue
        negatives = negative_questions(own, sets[other], args.limit, seed=11)
        scopes = sorted({q.scope for q in own.queries if q.scope})
        if scopes:  # scoped sets (one privacy policy per question): refuse within a policy
            negatives = [replace(q, scope=rng.choice(scopes)) for q in negatives]
        neg[language] += features(retriever, negatives)
    for language in ("zh", "en"):
        policy, acc, false = calibrate(pos[language], neg[language])
        print(
            f"{language}: positives={len(pos[language])} negatives={len(neg[language])} "
            f"min_coverage={policy.min_coverage:.2f} min_dense={policy.min_dense:.3f} "
            f"refusal_accuracy={acc:.3f} false_refusal_rate={false:.3f}"
        )
        rule = AnswerConfig.from_settings(settings).refusal[language]
        acc, false = rates(rule, pos[language], neg[language])
        refused, _ = rates(rule, pos[language], near[language])
        print(
            f"  the rule in use: refusal_accuracy={acc:.3f} false_refusal_rate={false:.3f} "
            f"near_misses={len(near[language])} near_misses_refused={refused:.3f}"
        )
        print(
            "  answered as perhaps not in full: "
            f"answerable={partial_share(rule, pos[language]):.3f} "
            f"near_misses={partial_share(rule, near[language]):.3f} "
            f"other_set={partial_share(rule, neg[language]):.3f}"
        )
        if args.reranker != "off":
            compare_model(rule, pos[language], neg[language], near[language])


if __name__ == "__main__":
    main()
