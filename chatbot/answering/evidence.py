"""The search behind every answer: the passages for a question within its scope, the sentences
that answer, and whether they are too weak to answer from at all (a refusal)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from chatbot.answering import crosslingual
from chatbot.answering.asked import Asked, Evidence
from chatbot.answering.asking import SUBJECT_HEADINGS, asked_for, question_tokens
from chatbot.answering.documents import Library
from chatbot.answering.extractive import (
    SECOND_SENTENCE_SHARE,
    TYPE_BONUS,
    IdfFn,
    Sentence,
    choose_sentences,
    has_body,
    score_sentences,
    select_sentences,
    swapped,
)
from chatbot.answering.position import PassageReader
from chatbot.answering.questions import earlier_query, elliptical, question_parts
from chatbot.answering.read_on import joined
from chatbot.answering.retrieval import HybridRetriever
from index_store.ids import chunk_id
from index_store.policy import Scope
from index_store.records import Chunk, Hit
from index_store.reranker.model import passage_text

# Below this coverage the follow-up question alone picks sentences poorly ("那审核要多久？").
FOLLOW_UP_MIN_COVERAGE = 0.2
# How many of the best passages are read sentence by sentence for a question asked across
# languages (an English question over Chinese policies, or the reverse).
ACROSS_SENTENCE_HITS = 2
# Such sentences rank by coverage; the embedder's similarity, scaled down to this, orders those
# of equal coverage without outweighing a term (a weaker second sentence stays out).
SIMILARITY_TIE_BREAK = 0.1


@dataclass(frozen=True)
class RefusalPolicy:
    """Refuse when the best sentence covers less than ``min_coverage`` of the question's
    keyword weight *and* the best dense similarity is below ``min_dense``; answer as the
    closest passages, which may not answer in full, below both ``partial_coverage`` and
    ``partial_dense``. The values in use (``Settings.refusal_*``, ``Settings.partial_*``) were
    measured per language by ``python -m tools.refusal``."""

    min_coverage: float
    min_dense: float
    partial_coverage: float = 0.0
    partial_dense: float = 0.0

    def refuses(self, coverage: float, dense: float) -> bool:
        return coverage < self.min_coverage and dense < self.min_dense

    def partial(self, coverage: float, dense: float) -> bool:
        """Answered, but perhaps not in full (never when refused)."""
        weak = coverage < self.partial_coverage and dense < self.partial_dense
        return weak and not self.refuses(coverage, dense)


@dataclass(frozen=True)
class RefusalRules:
    """How a refusal is decided: per question language by :class:`RefusalPolicy`; by the
    second stage's calibrated probability when ``by_model``; a question across languages by
    how much of its meaning, read through the policy glossary, a top passage holds, one the
    glossary cannot read by the multilingual embedder's similarity."""

    by_language: Mapping[str, RefusalPolicy]
    by_model: bool = False
    min_answerable: float = 0.1
    cross_language_min_coverage: float = crosslingual.MIN_COVERAGE
    cross_language_min_dense: float = 0.77


def evidence(
    question: str, hits: list[Hit], sentences: list[Sentence], idf: IdfFn
) -> tuple[float, float]:
    """How well the retrieved text answers ``question``: (best sentence's keyword coverage of
    it, or of its parts when it asks several things and that is higher (``_parts_coverage``),
    best dense similarity); (0, 0) when nothing was found."""
    if not hits or not sentences:
        return 0.0, 0.0
    coverage = max(_parts_coverage(question, hits, idf), max(s.score for s in sentences))
    return coverage, max((h.dense_score or 0.0) for h in hits)


def _parts_coverage(question: str, hits: list[Hit], idf: IdfFn) -> float:
    """For a question that asks several things ("X？Y？"), the mean over them of the best
    sentence's coverage of each: no one sentence covers both, though each is answered; 0
    for a question that asks one thing."""
    parts = [p for p in question_parts(question) if question_tokens(p)]
    if len(parts) < 2:
        return 0.0
    best = [max((s.score for s in score_sentences(p, hits, idf)), default=0.0) for p in parts]
    return sum(best) / len(best)


class EvidenceFinder:
    """Searches within a scope, picks the sentences that answer and decides on refusal."""

    def __init__(
        self,
        retriever: HybridRetriever,
        passages: PassageReader,
        library: Library,
        rules: RefusalRules,
        top_k: int,
        max_sentences: int,
    ) -> None:
        self.retriever = retriever
        self.passages = passages
        self.library = library
        self.rules = rules
        self.top_k = top_k
        self.max_sentences = max_sentences

    def find_asked(self, asked: Asked, scope: Scope) -> Evidence:
        """:meth:`find` for a question as the routes see it, searched within ``scope``."""
        earlier = earlier_query(asked.history)
        return self.find(asked.question, asked.query, scope, asked.language, earlier=earlier)

    def find(
        self,
        question: str,
        query: str,
        scope: Scope,
        language: str,
        top_k: int | None = None,
        earlier: str = "",
    ) -> Evidence:
        """Passages for ``query`` within ``scope``, the sentences that answer ``question``, and
        whether they are too weak to answer from (refuse) or to answer in full (partial).
        ``earlier`` is what the question before it searched for: a follow-up that only swaps a
        part of it asks what it asked."""
        filters = self.library.filters(scope)
        hits = self.retriever.search(query, top_k=top_k or self.top_k, filters=filters)
        hits = [self._with_body(h) for h in self._with_subjects(question, hits)]
        idf = self.passages.keyword_index().idf
        # Sentences answer the question as asked. A follow-up that swaps a part of the question
        # before it leads with what that question asked (``swapped``); the follow-up query
        # picks them only when the question alone matches nothing.
        if earlier and elliptical(question):
            ranked = swapped(
                score_sentences(question, hits, idf), score_sentences(earlier, hits, idf)
            )
            sentences = choose_sentences(question, hits, ranked, self.max_sentences)
        else:
            sentences = select_sentences(question, hits, self.max_sentences, idf)
        best = max((s.score for s in sentences), default=0.0)
        if query != question and best < FOLLOW_UP_MIN_COVERAGE:
            sentences = select_sentences(query, hits, self.max_sentences, idf)
        # Asked in another language than all the best passages: the question's words cannot
        # be counted in them, its glossary terms can.
        across = crosslingual.asked_across(question, hits, language)
        if across:
            sentences = self._across_sentences(question, hits)
        # Keyword coverage decides neither for a question across languages.
        strength = (0.0, 0.0) if across else evidence(question, hits, sentences, idf)
        refuse = self._refuses(question, hits, strength, language, across)
        partial = self._partial(hits, strength, language, across)
        return Evidence(hits, sentences, refuse, partial=partial)

    def _across_sentences(self, question: str, hits: list[Hit]) -> list[Sentence]:
        """For a question asked across languages, the sentences of the best passages ranked by
        how much of the question's meaning, read through the policy glossary, each holds with
        its passage's headings; the multilingual embedder's similarity breaks ties (and ranks
        alone for a question the glossary cannot read)."""
        ranked = score_sentences(question, hits[:ACROSS_SENTENCE_HITS])
        if not ranked:
            return []
        found = crosslingual.terms(question)
        weight = crosslingual.term_weight(self.passages.keyword_index().idf)
        held = [
            crosslingual.coverage(
                found, passage_text(hits[s.hit_index].chunk.heading_path, s.text), weight
            )
            for s in ranked
        ]
        # Only a sentence that may be quoted beside the best (``choose_sentences``) needs the
        # tie-break; the embedder is the slow part.
        floor = max(held) * SECOND_SENTENCE_SHARE / (1 + TYPE_BONUS)
        close = [i for i, c in enumerate(held) if c >= floor]
        asked = np.asarray(self.retriever.query_vector(question))
        texts = [ranked[i].text for i in close]
        vectors = np.asarray(self.retriever.embedder.get_text_embedding_batch(texts))
        similarity = dict(zip(close, (float(x) for x in vectors @ asked), strict=True))
        rescored = [
            replace(s, score=c + SIMILARITY_TIE_BREAK * similarity.get(i, 0.0))
            for i, (s, c) in enumerate(zip(ranked, held, strict=True))
        ]
        rescored.sort(key=lambda s: (-s.score, s.hit_index, s.start))
        return choose_sentences(question, hits, rescored, self.max_sentences)

    def _refuses(
        self,
        question: str,
        hits: list[Hit],
        strength: tuple[float, float],
        language: str,
        across: bool,
    ) -> bool:
        """Whether the passages are too weak to answer from: by the second stage's calibrated
        probability when it scored them and the rules say so; for a question ``across``
        languages (its words cannot be counted in the passages), by its glossary terms'
        coverage, or without any by the multilingual embedder's similarity (refused too when
        the library never expresses one of its terms); else by keyword coverage and dense
        similarity (``strength``, from ``evidence``)."""
        rules = self.rules
        if self._by_model(hits):
            scored = [h.answerable for h in hits if h.answerable is not None]
            return max(scored) < rules.min_answerable
        if across:
            found = crosslingual.terms(question)
            if found:
                idf = self.passages.keyword_index().idf
                top = [h.chunk for h in hits[: crosslingual.CROSS_LANGUAGE_HITS]]
                coverage = crosslingual.best_coverage(found, top, idf)
                missing = crosslingual.unexpressed(found, idf)
                return bool(missing) or coverage < rules.cross_language_min_coverage
            return max(h.dense_score or 0.0 for h in hits) < rules.cross_language_min_dense
        return rules.by_language[language].refuses(*strength)

    def _partial(
        self, hits: list[Hit], strength: tuple[float, float], language: str, across: bool
    ) -> bool:
        """Whether an answer from these passages may not answer in full: by the keyword
        coverage and dense similarity that decide a refusal, when they decide it (not for a
        question across languages, nor when the second stage's probability does)."""
        if across or self._by_model(hits):
            return False
        return self.rules.by_language[language].partial(*strength)

    def _by_model(self, hits: list[Hit]) -> bool:
        """Whether the second stage's probability decides: the rules say so and it scored the
        passages."""
        return self.rules.by_model and any(h.answerable is not None for h in hits)

    def _with_subjects(self, question: str, hits: list[Hit]) -> list[Hit]:
        """``hits`` and, for a question about who may apply, the passage of the best one's
        document (the policy asked about) that heads the clause naming its subjects (一、支持
        对象): its words are seldom the question's ("哪些企业可以申请这些支持？" against 在本市
        依法登记注册…的制造业中小企业), so neither search ranks it."""
        asked = asked_for(question)
        if asked is None or asked.headed is None or not hits:
            return hits
        within = {"doc_id": [hits[0].chunk.doc_id]}
        shown = {h.chunk.chunk_id for h in hits}
        return hits + [
            h
            for h in self.retriever.search_quotes(SUBJECT_HEADINGS, 1, within)
            if h.chunk.chunk_id not in shown and asked.headed_in(h.chunk.text, h.chunk.heading_path)
        ]

    def _with_body(self, hit: Hit) -> Hit:
        """A passage of headings only ("二、支持物资供应") read on through the next passage of
        its document, which holds what they head; cited as the passage found (``joined``)."""
        if has_body(hit.chunk):
            return hit
        following = self.next_chunk(hit.chunk)
        return hit if following is None else replace(hit, chunk=joined(hit.chunk, following))

    def next_chunk(self, chunk: Chunk) -> Chunk | None:
        """The passage after ``chunk`` in its document, if any: after the one it already reaches
        into when it was read on (``_with_body``)."""
        wanted = [chunk_id(chunk.doc_id, chunk.ordinal + step) for step in (1, 2)]
        found = self.passages.chunks(wanted)
        for following in (found.get(w) for w in wanted):
            if following is None or following.end > chunk.end:
                return following
        return None
