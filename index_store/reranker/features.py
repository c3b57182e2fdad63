"""The feature ranker: a linear model over what retrieval already knows about each candidate.

Each fused candidate gets a handful of features: its fused score and rank, its dense and BM25
scores relative to the best candidate's, how much of the question's keyword weight its text and
its document's title hold, the longest stretch of the question it repeats, and how strongly its
document is represented among the candidates; with the cross-encoder, its logit too. Features are
relative to the question's own candidates wherever a raw value would depend on the collection's
size. ``scripts/train_ranker.py`` fits the weights (pairwise logistic regression: the passage
holding the answer should outscore each other candidate) on ``../shared/train-data`` questions
asked over their own articles, and a second logistic model on the best candidate's features
gives the calibrated probability that it answers the question.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

from index_store.keyword import tokenize
from index_store.records import Hit

WEIGHTS_FILE = Path(__file__).parent / "weights" / "ranker.json"

RANK_FEATURES = (
    "fused",
    "fused_gap",
    "log_rank",
    "dense_gap",
    "dense_missing",
    "keyword_share",
    "keyword_missing",
    "coverage",
    "coverage_gap",
    "title_coverage",
    "longest_shared",
    "doc_share",
    "doc_best_gap",
    "doc_first",
)
CROSS_FEATURES = ("cross", "cross_gap")
# Of the best candidate, for answerability: values that mean the same in any collection.
ANSWER_FEATURES = ("dense", "coverage", "longest_shared", "score_gap", "cross")

Idf = Callable[[str], float]


def _weighted_tokens(question: str, idf: Idf) -> list[tuple[str, float]]:
    """The question's distinct keyword tokens as text to look for (a bigram without its ``_``
    mark), each with its IDF weight."""
    seen: dict[str, float] = {}
    for token in tokenize(question):
        if token.isdigit():
            continue
        needle = token[1:] if token.startswith("_") else token
        seen[needle] = max(seen.get(needle, 0.0), idf(token))
    return list(seen.items())


def _coverage(tokens: list[tuple[str, float]], text: str) -> float:
    """Share of the question's token weight found in ``text`` (lower-cased)."""
    total = sum(w for _, w in tokens)
    if total <= 0:
        return 0.0
    return sum(w for t, w in tokens if t in text) / total


def _longest_shared(question: str, text: str) -> float:
    """The longest stretch of the question found verbatim in ``text``, as a share of the
    question's length (spaces ignored)."""
    q = "".join(question.split()).lower()
    if not q:
        return 0.0
    t = "".join(text.split()).lower()
    match = SequenceMatcher(None, q, t, autojunk=False).find_longest_match(0, len(q), 0, len(t))
    return match.size / len(q)


def rank_features(question: str, hits: Sequence[Hit], idf: Idf) -> np.ndarray:
    """One row of ``RANK_FEATURES`` per hit (hits in fused order)."""
    n = len(hits)
    out = np.zeros((n, len(RANK_FEATURES)), dtype=np.float64)
    if n == 0:
        return out
    tokens = _weighted_tokens(question, idf)
    fused = np.array([h.score for h in hits])
    dense = [h.dense_score for h in hits]
    known_dense = [d for d in dense if d is not None]
    dense_best = max(known_dense, default=0.0)
    dense_floor = min(known_dense, default=0.0)
    keyword_best = max((h.keyword_score or 0.0 for h in hits), default=0.0) or 1.0
    coverage = np.array([_coverage(tokens, h.chunk.text.lower()) for h in hits])
    doc_counts: dict[str, int] = {}
    doc_best: dict[str, float] = {}
    for h in hits:
        doc_counts[h.chunk.doc_id] = doc_counts.get(h.chunk.doc_id, 0) + 1
        doc_best.setdefault(h.chunk.doc_id, h.score)
    for i, h in enumerate(hits):
        d = h.dense_score
        out[i] = (
            h.score,
            h.score - fused[0],
            math.log1p(i),
            (d if d is not None else dense_floor) - dense_best,
            d is None,
            (h.keyword_score or 0.0) / keyword_best,
            h.keyword_score is None,
            coverage[i],
            coverage[i] - coverage.max(),
            _coverage(tokens, h.chunk.title.lower()),
            _longest_shared(question, h.chunk.text),
            doc_counts[h.chunk.doc_id] / n,
            doc_best[h.chunk.doc_id] - fused[0],
            doc_best[h.chunk.doc_id] == h.score,
        )
    return out


def cross_features(logits: Sequence[float]) -> np.ndarray:
    """``CROSS_FEATURES`` of each candidate from its cross-encoder logit."""
    x = np.asarray(logits, dtype=np.float64)
    return np.stack([x, x - x.max()], axis=1) if len(x) else np.zeros((0, 2))


def answer_features(
    best: int, scores: np.ndarray, features: np.ndarray, hits: Sequence[Hit], cross: float
) -> np.ndarray:
    """``ANSWER_FEATURES`` of the best candidate (index ``best``), given every candidate's
    ranker score and rank features."""
    names = {name: i for i, name in enumerate(RANK_FEATURES)}
    others = np.delete(scores, best)
    gap = float(scores[best] - others.max()) if len(others) else 1.0
    return np.array(
        [
            hits[best].dense_score or 0.0,
            features[best, names["coverage"]],
            features[best, names["longest_shared"]],
            min(gap, 5.0),
            cross,
        ]
    )


@dataclass(frozen=True)
class LinearModel:
    """Weights over named features, standardised by the training mean and deviation."""

    names: tuple[str, ...]
    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    bias: float = 0.0

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(((x - self.mean) / self.scale) @ self.weights + self.bias)

    def to_json(self) -> dict[str, object]:
        return {
            "names": list(self.names),
            "weights": self.weights.tolist(),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "bias": self.bias,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LinearModel:
        def array(key: str) -> np.ndarray:
            return np.asarray(data[key], dtype=np.float64)

        return cls(
            tuple(str(n) for n in data["names"]),  # type: ignore[attr-defined]
            array("weights"),
            array("mean"),
            array("scale"),
            float(data["bias"]),  # type: ignore[arg-type]
        )


def sigmoid(z: float) -> float:
    """The logistic function, 0 far below zero (no overflow)."""
    return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


class FeatureRanker:
    """Reorders fused candidates by the trained linear score and gives each its calibrated
    probability of answering. With ``cross`` (a :class:`PairScorer`'s logits passed in), the
    model trained with the cross-encoder's logit as two more features is used."""

    def __init__(self, path: Path = WEIGHTS_FILE, *, cross: bool = False) -> None:
        from index_store.errors import ConfigError

        if not path.is_file():
            raise ConfigError(f"no ranker weights at {path}: run scripts/train_ranker.py")
        data = json.loads(path.read_text())
        variant = data["cross" if cross else "features"]
        self.ranker = LinearModel.from_json(variant["rank"])
        self.answer = LinearModel.from_json(variant["answer"])
        self.cross = cross
        self.meta = data.get("meta", {})

    def order(
        self,
        question: str,
        hits: Sequence[Hit],
        idf: Idf,
        logits: Sequence[float] | None = None,
    ) -> tuple[list[int], list[float], list[float]]:
        """Indices of ``hits`` best first, each hit's ranker score, and the calibrated
        probability that the best one answers (with each other hit's, by the same model)."""
        x = rank_features(question, hits, idf)
        if self.cross:
            assert logits is not None, "the cross variant needs the cross-encoder's logits"
            x = np.hstack([x, cross_features(logits)])
        scores = self.ranker.score(x)
        order = sorted(range(len(hits)), key=lambda i: -scores[i])
        cross = logits if logits is not None else [0.0] * len(hits)
        best = [answer_features(i, scores, x, hits, float(cross[i])) for i in range(len(hits))]
        answerable = [sigmoid(float(z)) for z in self.answer.score(np.array(best))] if best else []
        return order, [float(s) for s in scores], answerable
