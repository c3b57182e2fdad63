"""``POLICYQA_RERANKER`` -> the second-stage scorer, loaded once per process; and the same model
as a lazily loaded judge for what shared words cannot decide."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from index_store.settings import Settings

if TYPE_CHECKING:
    from index_store.reranker.features import FeatureRanker
    from index_store.reranker.model import CrossEncoderReranker


@functools.cache
def _bundled() -> CrossEncoderReranker:
    # One copy per process: the model is read-only once built, and loading it takes seconds.
    from index_store.reranker.model import CrossEncoderReranker

    return CrossEncoderReranker()


def make_reranker(settings: Settings) -> CrossEncoderReranker | None:
    """The bundled cross-encoder when ``settings.reranker`` is ``cross``, else None."""
    return _bundled() if settings.reranker == "cross" else None


def make_ranker(settings: Settings) -> FeatureRanker | None:
    """The trained feature ranker (its cross-encoder variant for ``cross``), or None when
    ``settings.reranker`` is ``off``."""
    from index_store.reranker.features import FeatureRanker

    if settings.reranker == "off":
        return None
    return FeatureRanker(cross=settings.reranker == "cross")


class LazyJudge:
    """The bundled cross-encoder, loaded on first use: it judges an LLM answer's sentences and
    questions asked across languages, which most processes never see."""

    def logits(self, question: str, passages: Sequence[str]) -> np.ndarray:
        return _bundled().logits(question, passages)

    def answerable(self, logit: float) -> float:
        return _bundled().answerable(logit)
