"""Hybrid retrieval: dense (Chroma) and BM25 candidates, fused.

Neither signal is enough alone: on the shared Chinese sets BM25 wins on the policy notices and
dense wins on the FAQ. The default fusion adds the two scores after scaling each list by its
own distribution (mean ± 3 standard deviations to 0..1), weighted ``dense_weight : 1 -
dense_weight``; unlike reciprocal rank fusion it keeps how far ahead a candidate is, and unlike
min-max scaling (``fusion="minmax"``, the default before) one outlier at either end does not
stretch the rest of its list (measured on the dev splits: docs/experiments/quality-notes.md).
``fusion="rrf"`` keeps the rank fusion. An optional second stage (``reranker``) re-scores the
best ``rerank_k`` fused passages with the trained feature ranker, the cross-encoder's score among
its features when there is one (``index_store.reranker.features``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from chatbot.answering import crosslingual
from index_store.keyword import KeywordHit
from index_store.language import detect_language
from index_store.records import HEADING_SEPARATOR, Chunk, Hit
from index_store.reranker.features import FeatureRanker
from index_store.reranker.model import PairScorer, passage_text
from index_store.settings import Settings
from index_store.store import DenseHit, Filters, IndexStore

logger = logging.getLogger(__name__)


Fusion = Literal["score", "minmax", "rrf"]

# A passage whose text another candidate repeats word for word (the same notice reprinted by
# several sites) is shown once, the copies named beside it: up to MAX_COPIES of them, and only
# for passages of MIN_COPY_CHARS or more (a bare heading like "四、支持复工复产" is no reprint).
MIN_COPY_CHARS = 30
MAX_COPIES = 3
QUERY_VECTORS = 8


def same_text_key(text: str) -> str:
    """What two copies of one passage share: the text without its spaces and line breaks
    (reprints differ in those; anything finer costs more than the search itself)."""
    return "".join(text.split())


def collapse_copies(
    ranked: list[tuple[Chunk, float]], k: int
) -> list[tuple[Chunk, float, tuple[Chunk, ...]]]:
    """The first ``k`` distinct passages of ``ranked`` (best first), each with the later
    candidates that repeat its text (at most ``MAX_COPIES``; a copy past them is dropped)."""
    shown: list[tuple[Chunk, float, list[Chunk]]] = []
    by_key: dict[str, list[Chunk]] = {}
    for chunk, score in ranked:
        key = same_text_key(chunk.text)
        if key in by_key:
            if len(by_key[key]) < MAX_COPIES:
                by_key[key].append(chunk)
        elif len(shown) < k:
            copies: list[Chunk] = []
            if len(key) >= MIN_COPY_CHARS:
                by_key[key] = copies
            shown.append((chunk, score, copies))
    return [(chunk, score, tuple(copies)) for chunk, score, copies in shown]


@dataclass(frozen=True)
class RetrievalConfig:
    top_k: int = 5
    candidate_k: int = 50
    fusion: Fusion = "score"
    dense_weight: float = 0.5  # score fusion: dense share, BM25 gets the rest
    rrf_k: int = 60  # rank fusion only
    rrf_keyword_weight: float = 1.0  # rank fusion only; the dense ranking weighs 1
    rerank_k: int = 20  # fused passages a reranker re-scores

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrievalConfig:
        return cls(
            top_k=settings.top_k,
            candidate_k=settings.candidate_k,
            fusion=settings.fusion,
            dense_weight=settings.dense_weight,
            rerank_k=settings.rerank_k,
        )


def _scaled(pairs: list[tuple[str, float]], by: Fusion) -> tuple[dict[str, float], float]:
    """Scores of one list on a common scale, and what a candidate missing from the list
    counts: min-max to 0..1 (``by="minmax"``), else mean ± 3 standard deviations to 0..1. A
    missing candidate counts as the list's lowest; when all its scores are equal (a list of
    one) they scale to 1 and a missing candidate counts 0."""
    scores = [s for _, s in pairs]
    if by == "minmax":
        lo, span = min(scores), max(scores) - min(scores)
    else:
        mean = sum(scores) / len(scores)
        sd = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5
        lo, span = mean - 3 * sd, 6 * sd
    if span <= 0:
        return dict.fromkeys((item for item, _ in pairs), 1.0), 0.0
    return {item: (score - lo) / span for item, score in pairs}, (min(scores) - lo) / span


def score_fuse(
    dense: list[tuple[str, float]],
    keyword: list[tuple[str, float]],
    dense_weight: float,
    by: Fusion = "score",
) -> list[tuple[str, float]]:
    """``w * dense' + (1 - w) * keyword'`` where ``x'`` is the score scaled over its own
    candidate list (see ``_scaled``); best first, ties in first-seen order."""
    weighted = [(dense_weight, dense), (1.0 - dense_weight, keyword)]
    lists = [(weight, *_scaled(pairs, by)) for weight, pairs in weighted if pairs]
    fused = dict.fromkeys((item for _, scaled, _ in lists for item in scaled), 0.0)
    for weight, scaled, missing in lists:
        for item in fused:
            fused[item] += weight * scaled.get(item, missing)
    return sorted(fused.items(), key=lambda kv: -kv[1])


def fuse(
    config: RetrievalConfig, dense: list[tuple[str, float]], keyword: list[tuple[str, float]]
) -> list[tuple[str, float]]:
    """Dense and BM25 candidates ((id, score), best first) merged as ``config`` says."""
    if config.fusion == "rrf":
        rankings = [
            (1.0, [cid for cid, _ in dense]),
            (config.rrf_keyword_weight, [cid for cid, _ in keyword]),
        ]
        return rrf_fuse(rankings, config.rrf_k)
    return score_fuse(dense, keyword, config.dense_weight, config.fusion)


def rrf_fuse(rankings: list[tuple[float, list[str]]], rrf_k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion: ``score(id) = sum w / (rrf_k + rank)`` over the
    rankings that contain ``id``; ties keep first-seen order."""
    scores: dict[str, float] = {}
    for weight, ids in rankings:
        for rank, item in enumerate(ids, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def _searchable(text: str, filters: Filters | None) -> bool:
    """Whether a search for ``text`` can find anything: some text, and no filter whose list of
    allowed values is empty (an empty list allows nothing)."""
    return bool(text) and not (filters and not all(filters.values()))


class HybridRetriever(BaseRetriever):
    """llama-index retriever over an :class:`IndexStore`; :meth:`search` returns typed hits."""

    def __init__(
        self,
        store: IndexStore,
        embedder: BaseEmbedding,
        config: RetrievalConfig,
        reranker: PairScorer | None = None,
        ranker: FeatureRanker | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.embedder = embedder
        self.config = config
        self.reranker = reranker
        self.ranker = ranker
        # One answer can search twice for the same text (a refusal searched again among the
        # policies out of force, a follow-up's earlier question): the question is embedded
        # once. A few entries only, so a benchmark cycling through its questions never hits.
        self.query_vector = functools.lru_cache(maxsize=QUERY_VECTORS)(embedder.get_query_embedding)
        # Likewise the reranker's scores of one question's candidates (the same 20 passages
        # when one answer searches twice for the same text).
        self._logits = functools.lru_cache(maxsize=QUERY_VECTORS)(self._score)

    def search(
        self, question: str, top_k: int | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        """The ``top_k`` best passages for ``question``, best first: fused dense and BM25
        candidates, the best ``rerank_k`` of them re-scored by the reranker when there is one.
        A question the passages in the other language answer better (English over Chinese
        policies, Chinese over English ones) gets those, BM25 searching for its terms in that
        language through the policy glossary (``_across``)."""
        question = question.strip()
        if not _searchable(question, filters):
            return []
        k = top_k or self.config.top_k
        shown = max(k, self.config.rerank_k) if self.ranker is not None else k
        n = max(self.config.candidate_k, shown)
        dense = self.store.dense_search(self.query_vector(question), n, filters)
        keyword = self.store.keyword_search(question, n, filters)
        hits = self._fused(dense, keyword, shown)
        across = self._across(question, hits, dense, n, shown, filters)
        return self._reranked(question, across or hits)[:k]

    def _across(
        self,
        question: str,
        hits: list[Hit],
        dense: list[DenseHit],
        n: int,
        shown: int,
        filters: Filters | None,
    ) -> list[Hit] | None:
        """The passages in the other language, BM25 searching for the question's terms in it
        through the policy glossary, when they answer better than ``hits``: when the best of
        ``hits`` are all in the other language, or when one of the best passages BM25 finds
        holds enough of the question's meaning to answer it (``MIN_COVERAGE``) and more of the
        terms the glossary reads than the best passage in its own language holds in the
        question's words, and the library expresses every term. None when they do not, or
        when no passage holds any of its terms."""
        found = crosslingual.terms(question)
        translated = crosslingual.keywords(found)
        if not translated:
            return None
        language = detect_language(question)
        idf = self.store.keyword_index().idf
        known = [t for t in found if t.meanings]
        own_best = None  # how much its own language's best passage holds, when it has one
        if not crosslingual.asked_across(question, hits, language):
            # Whether a passage in the other language could answer, and hold more, before
            # searching it: the cheap checks first.
            reachable = crosslingual.reachable(found, idf)
            if reachable < crosslingual.MIN_COVERAGE or crosslingual.unexpressed(found, idf):
                return None
            # Both languages are judged on the terms the glossary reads: a word it does not
            # know (信息) can only be held on the question's side, a framing word ("get") on
            # neither.
            own = [h.chunk for h in hits if detect_language(h.chunk.text) == language]
            own_best = crosslingual.best_coverage(
                known, own[: crosslingual.CROSS_LANGUAGE_HITS], idf, as_asked=True
            )
            if own_best >= 1.0:
                return None
        keyword = self.store.keyword_search(translated, n, filters)
        if not keyword:
            return None
        if own_best is not None:
            top = [h.chunk_id for h in keyword[: crosslingual.CROSS_LANGUAGE_HITS]]
            chunks = list(self.store.chunks(top).values())
            if (
                crosslingual.best_coverage(found, chunks, idf) < crosslingual.MIN_COVERAGE
                or crosslingual.best_coverage(known, chunks, idf) <= own_best
            ):
                return None
        other = self._fused(dense, keyword, shown, lambda c: detect_language(c.text) != language)
        return other or None

    def _fused(
        self,
        dense: list[DenseHit],
        keyword: list[KeywordHit],
        shown: int,
        keep: Callable[[Chunk], bool] | None = None,
    ) -> list[Hit]:
        """The best ``shown`` passages of ``dense`` fused with ``keyword``'s, only those ``keep``
        accepts when given."""
        fused = fuse(
            self.config,
            [(h.chunk_id, h.score) for h in dense],
            [(h.chunk_id, h.score) for h in keyword],
        )
        # The registry decides what exists: vectors it does not name (left by an interrupted
        # write) are never returned.
        chunks = self.store.chunks([cid for cid, _ in fused])
        found = [
            (chunk, score)
            for cid, score in fused
            if (chunk := chunks.get(cid)) and (keep is None or keep(chunk))
        ]
        dense_by_id = {h.chunk_id: h for h in dense}
        keyword_by_id = {h.chunk_id: h for h in keyword}
        hits: list[Hit] = []
        for chunk, score, copies in collapse_copies(found, shown):
            d, kw = dense_by_id.get(chunk.chunk_id), keyword_by_id.get(chunk.chunk_id)
            hits.append(
                Hit(
                    chunk=chunk,
                    score=score,
                    dense_rank=d.rank if d else None,
                    dense_score=d.score if d else None,
                    keyword_rank=kw.rank if kw else None,
                    keyword_score=kw.score if kw else None,
                    copies=copies,
                )
            )
        return hits

    def _reranked(self, question: str, hits: list[Hit]) -> list[Hit]:
        """``hits`` ordered by the second stage's score, each with its calibrated probability
        of answering; unchanged without one. Ties keep the fused order."""
        if self.ranker is None or not hits:
            return hits
        logits = None
        if self.ranker.cross and self.reranker is not None:
            texts = tuple(passage_text(h.chunk.heading_path, h.chunk.text) for h in hits)
            logits = self._logits(question, texts)
        idf = self.store.keyword_index().idf
        order, scores, answerable = self.ranker.order(question, hits, idf, logits)
        return [replace(hits[i], rerank_score=scores[i], answerable=answerable[i]) for i in order]

    def clear_caches(self) -> None:
        """Forget recent question vectors and rerank scores (benchmarks time cold questions)."""
        self.query_vector.cache_clear()
        self._logits.cache_clear()

    def _score(self, question: str, texts: tuple[str, ...]) -> tuple[float, ...]:
        assert self.reranker is not None
        return tuple(float(x) for x in self.reranker.logits(question, list(texts)))

    def search_quotes(
        self, text: str, top_k: int | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        """The passages ``text`` (an earlier answer) quotes, best first: keyword search alone,
        since a verbatim quote shares its passage's words, and a long answer is slow to embed.
        Scores are scaled to the best one."""
        text = text.strip()
        if not _searchable(text, filters):
            return []
        keyword = self.store.keyword_search(text, top_k or self.config.top_k, filters)
        chunks = self.store.chunks([h.chunk_id for h in keyword])
        best = keyword[0].score if keyword and keyword[0].score > 0 else 1.0
        return [
            Hit(chunk, h.score / best, keyword_rank=h.rank, keyword_score=h.score)
            for h in keyword
            if (chunk := chunks.get(h.chunk_id)) is not None
        ]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [
            NodeWithScore(
                node=TextNode(
                    id_=h.chunk.chunk_id,
                    text=h.chunk.text,
                    start_char_idx=h.chunk.start,
                    end_char_idx=h.chunk.end,
                    metadata={
                        "doc_id": h.chunk.doc_id,
                        "source": h.chunk.source,
                        "title": h.chunk.title,
                        "heading_path": HEADING_SEPARATOR.join(h.chunk.heading_path),
                    },
                ),
                score=h.score,
            )
            for h in self.search(query_bundle.query_str)
        ]
