"""The one answer service behind every interface: question (+ history, filters) -> Answer.

Retrieve, decide whether the passages answer at all, then answer extractively (default) or with
the configured LLM; any LLM failure falls back to the extractive answer with a short notice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from chatbot.answering.asking import question_tokens
from chatbot.answering.compose import build_messages, extractive_answer, refusal_answer
from chatbot.answering.documents import Library
from chatbot.answering.eligibility import checklist_kinds, with_checklist
from chatbot.answering.extractive import (
    Sentence,
    choose_sentences,
    has_body,
    reach,
    score_sentences,
    select_sentences,
)
from chatbot.answering.llm import ChatMessage, LLMClient, LLMError
from chatbot.answering.llm_answer import LLMAnswerer
from chatbot.answering.policy_list import asks_for_catalogue, catalogue_answer, newest, picked
from chatbot.answering.position import Located, PassageReader, locate, plan_follow_up
from chatbot.answering.prompts import (
    CONDENSE_TEMPLATE,
    NOT_IN_FORCE_NOTICE,
)
from chatbot.answering.questions import Turn, clean_question, follow_up_query
from chatbot.answering.read_on import joined, run_on
from chatbot.answering.retrieval import HybridRetriever
from index_store.ids import chunk_id
from index_store.keyword import tokenize
from index_store.language import detect_language
from index_store.policy import Scope, repeals
from index_store.records import Answer, Chunk, Hit
from index_store.reranker.model import PairScorer
from index_store.settings import Settings

logger = logging.getLogger(__name__)

# Below this coverage the follow-up question alone picks sentences poorly ("那审核要多久？").
FOLLOW_UP_MIN_COVERAGE = 0.2
# How many of the best passages the embedder reads sentence by sentence for a question asked
# across languages (an English question over Chinese policies).
MODEL_SENTENCE_HITS = 2
# How many of the best passages must be in another language, sharing no word with the question,
# for it to count as asked across languages.
CROSS_LANGUAGE_HITS = 3


@dataclass(frozen=True)
class RefusalPolicy:
    """Refuse when the best sentence covers less than ``min_coverage`` of the question's
    keyword weight *and* the best dense similarity is below ``min_dense``. The values in use
    (``Settings.refusal_*``) were measured per language by ``python -m tools.refusal``."""

    min_coverage: float
    min_dense: float

    def refuses(self, coverage: float, dense: float) -> bool:
        return coverage < self.min_coverage and dense < self.min_dense


def evidence(hits: list[Hit], sentences: list[Sentence]) -> tuple[float, float]:
    """How well the retrieved text answers: (best sentence's keyword coverage of the
    question, best dense similarity); (0, 0) when nothing was found."""
    if not hits or not sentences:
        return 0.0, 0.0
    return max(s.score for s in sentences), max((h.dense_score or 0.0) for h in hits)


@dataclass(frozen=True)
class AnswerConfig:
    top_k: int = 5
    max_question_chars: int = 2000
    max_history_turns: int = 6
    max_sentences: int = 3
    # Hosts an LLM answer may link to; any other link or image is removed (output_guard).
    allowed_link_hosts: frozenset[str] = frozenset()
    # Per question language: Chinese and English questions score differently. The default is
    # the measured thresholds as ``Settings`` declares them (no environment is read here).
    refusal: Mapping[str, RefusalPolicy] = field(
        default_factory=lambda: _refusal_policies(Settings.model_construct())
    )
    # With a reranker: refuse when the best passage's calibrated probability of answering the
    # question is below this (the rule above applies only to hits no reranker scored).
    min_answerable: float = 0.1
    # A question in another language than its best passage: refuse below this similarity of
    # the multilingual embedder (no shared word to count).
    cross_language_min_dense: float = 0.77

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerConfig:
        return cls(
            top_k=settings.top_k,
            max_question_chars=settings.max_question_chars,
            allowed_link_hosts=frozenset(
                h.strip().lower() for h in settings.allowed_link_hosts.split(",") if h.strip()
            ),
            refusal=_refusal_policies(settings),
            min_answerable=settings.refusal_min_answerable,
        )


def _refusal_policies(settings: Settings) -> dict[str, RefusalPolicy]:
    return {
        "zh": RefusalPolicy(settings.refusal_zh_min_coverage, settings.refusal_zh_min_dense),
        "en": RefusalPolicy(settings.refusal_en_min_coverage, settings.refusal_en_min_dense),
    }


def _across_languages(question: str, hits: list[Hit], language: str) -> bool:
    """Whether the question is in another language than its best passages and shares no
    keyword with them (an English question over Chinese policies)."""
    if not hits or any(detect_language(h.chunk.text) == language for h in hits):
        return False
    asked = {t for t in question_tokens(question) if not t.isdigit()}  # years, amounts
    return not any(asked & set(tokenize(h.chunk.text)) for h in hits)


class AnswerService:
    """Answers questions; one instance per process, shared by the CLI, UI and HTTP API."""

    def __init__(
        self,
        retriever: HybridRetriever,
        config: AnswerConfig,
        llm: LLMClient | None = None,
        llm_notice: dict[str, str] | None = None,
        library: Library | None = None,
        judge: PairScorer | None = None,
        passages: PassageReader | None = None,
    ) -> None:
        """``judge`` (default: the retriever's reranker) scores whether an LLM answer's
        sentences are supported by the passages they cite; ``passages`` (default: the
        retriever's index) is what the service reads besides searching."""
        self.retriever = retriever
        self.passages: PassageReader = passages or retriever.store
        self.config = config
        self.library = library or Library(retriever.store)
        self.llm = llm
        judge = judge if judge is not None else retriever.reranker
        self._writer = (
            LLMAnswerer(llm, config.allowed_link_hosts, judge, config.min_answerable)
            if llm is not None
            else None
        )
        # By language: shown with every answer when an LLM is configured but unusable.
        self.llm_notice = llm_notice

    @property
    def mode(self) -> str:
        return "llm" if self.llm is not None else "extractive"

    def ask(
        self, question: str, history: Sequence[Turn] = (), scope: Scope | None = None
    ) -> Answer:
        answer: Answer | None = None
        for event in self.stream(question, history, scope):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None  # stream() always ends with the Answer
        return answer

    def stream(
        self, question: str, history: Sequence[Turn] = (), scope: Scope | None = None
    ) -> Iterator[str | Answer]:
        """Text deltas, then the final :class:`Answer` (which supersedes the deltas).

        ``scope`` limits the documents (default: all labels, policies in force today). When no
        policy in force answers, policies that have expired or been replaced may, flagged so.
        """
        question = clean_question(question, self.config.max_question_chars)
        history = list(history)[-self.config.max_history_turns :]
        language = detect_language(question)
        scope = scope or Scope()
        as_of = scope.day(self.library.today())
        if asks_for_catalogue(question):
            answer = self.library.annotate(self._catalogue(question, scope, language), as_of)
            answer = replace(answer, basis=())  # each policy's line is in the list already
            yield answer.answer
            yield answer
            return
        asked, pick = question, self._pick(question, history, scope)
        if pick is not None:  # "第二个政策的申请条件？" after "有哪些政策？": asked of that policy
            (question, scope), history = pick, []
        query = self._standalone(question, history)
        located = self._locate(question, history, scope, self.config.top_k)
        if located is not None:
            hits, sentences, refused = located.hits, located.sentences, False
        else:
            topic = self._on_topic(question, history, scope)
            hits, sentences, refused = self._evidence(question, query, topic, language)
            if refused and topic is not scope:  # the earlier policy does not say: search all
                hits, sentences, refused = self._evidence(question, query, scope, language)
        notice = None
        if refused and self.library.out_of_force_widens(scope):
            wider = self._evidence(question, query, replace(scope, in_force_only=False), language)
            if not wider[2]:
                (hits, sentences, refused), notice = wider, NOT_IN_FORCE_NOTICE[language]
        if located is None and not refused:
            # A quote its passage cuts off reads on in the next one (the answer's text only:
            # refusal and a follow-up's anchor see the passages as searched).
            hits, sentences = run_on(hits, sentences, self._next_chunk, reach(question))
        if refused:
            answer = refusal_answer(question, hits, language)
        elif self._writer is not None:
            # ``query`` is the question rewritten to stand alone: the model sees no history.
            messages = build_messages(query, hits, language, as_of)
            answer = yield from self._writer.answer(question, messages, hits, sentences, language)
        else:
            answer = extractive_answer(question, hits, sentences, language)
        lead = answer.citations[0].quote.split("\n")[0] if answer.citations else ""
        if not answer.refused and checklist_kinds(question) and not repeals(lead):
            answer = with_checklist(answer, hits, as_of, self._search_document, self._region)
        answer = self.library.annotate(answer, as_of)
        notice = answer.notice or notice or (self.llm_notice or {}).get(language)
        answer = replace(answer, question=asked, notice=notice)
        if answer.mode == "extractive" or answer.refused:
            yield answer.answer
        yield answer

    def retrieve(
        self, question: str, history: Sequence[Turn], scope: Scope, top_k: int
    ) -> list[Hit]:
        """The passages an extractive answer to ``question`` draws on, best first: for a
        list-position follow-up the neighbouring entry's passage, else the search for the
        follow-up query. (With an LLM, answers search with its rewrite of the question.)"""
        located = self._locate(question, history, scope, top_k)
        if located is not None:
            return located.hits
        query = follow_up_query(question, history)
        return self.retriever.search(query, top_k=top_k, filters=self.library.filters(scope))

    def _on_topic(self, question: str, history: Sequence[Turn], scope: Scope) -> Scope:
        """A follow-up ("那怎么申请？") stays within the policy the previous answer quoted, unless
        it names another one (a 《title》 or a policy's name); other questions keep ``scope``."""
        if not history or history[-1].role != "assistant" or scope.doc_ids:
            return scope
        if follow_up_query(question, history) == question:  # a question of its own
            return scope
        shown = history[-1].content[: self.config.max_question_chars]
        quoted = self.retriever.search_quotes(shown, top_k=1, filters=self.library.filters(scope))
        if not quoted:
            return scope
        doc_id = quoted[0].chunk.doc_id
        others = (r.title for d, r in self.library.records().items() if d != doc_id and r.title)
        if "《" in question or any(title in question for title in others):
            return scope
        return replace(scope, doc_ids=(doc_id,))

    def _locate(
        self, question: str, history: Sequence[Turn], scope: Scope, top_k: int
    ) -> Located | None:
        """For a follow-up like "And the next one?", the entry beside the one the answer just
        given quoted, or else the one the earlier question was about; None when the question
        points at no position, or when the earlier question finds no answer."""
        plan = plan_follow_up(question, [t.content for t in history if t.role == "user"])
        if plan is None:
            return None
        store = self.passages
        idf = store.keyword_index().idf
        if history and history[-1].role == "assistant":
            shown = history[-1].content[: self.config.max_question_chars]
            filters = self.library.filters(scope)
            found = self.retriever.search_quotes(shown, top_k=top_k, filters=filters)
            located = locate(question, plan, found, store, idf, shown)
            if located is not None:
                return located
        language = detect_language(plan.base)
        found, _, refused = self._evidence(plan.base, plan.base, scope, language, top_k)
        return None if refused else locate(question, plan, found, store, idf)

    def _evidence(
        self, question: str, query: str, scope: Scope, language: str, top_k: int | None = None
    ) -> tuple[list[Hit], list[Sentence], bool]:
        """Passages for ``query`` within ``scope``, the sentences that answer ``question``, and
        whether they are too weak to answer from (refuse)."""
        filters = self.library.filters(scope)
        hits = self.retriever.search(query, top_k=top_k or self.config.top_k, filters=filters)
        hits = [self._with_body(h) for h in hits]
        idf = self.passages.keyword_index().idf
        # Sentences answer the question as asked; the expanded follow-up query only helps
        # when the question alone matches nothing.
        sentences = select_sentences(question, hits, self.config.max_sentences, idf)
        best = max((s.score for s in sentences), default=0.0)
        if query != question and best < FOLLOW_UP_MIN_COVERAGE:
            sentences = select_sentences(query, hits, self.config.max_sentences, idf)
        # Asked in another language than the best passages, with no word in common: keyword
        # coverage cannot judge, so the multilingual embedder picks and decides.
        across = _across_languages(question, hits[:CROSS_LANGUAGE_HITS], language)
        if across:
            sentences = self._model_sentences(question, hits)
        return hits, sentences, self._refuses(hits, sentences, language, across)

    def _model_sentences(self, question: str, hits: list[Hit]) -> list[Sentence]:
        """For a question asked across languages, the sentences of the best passages ranked by
        the multilingual embedder's similarity to the question instead of shared keywords."""
        ranked = score_sentences(question, hits[:MODEL_SENTENCE_HITS])
        if not ranked:
            return []
        embedder = self.retriever.embedder
        asked = np.asarray(self.retriever.query_vector(question))
        vectors = np.asarray(embedder.get_text_embedding_batch([s.text for s in ranked]))
        similarity = vectors @ asked
        rescored = [replace(s, score=float(x)) for s, x in zip(ranked, similarity, strict=True)]
        rescored.sort(key=lambda s: (-s.score, s.hit_index, s.start))
        return choose_sentences(question, hits, rescored, self.config.max_sentences)

    def _refuses(
        self, hits: list[Hit], sentences: list[Sentence], language: str, across: bool
    ) -> bool:
        """Whether the passages are too weak to answer from: by the reranker's calibrated
        probability when it scored them; for a question ``across`` languages (no shared word
        to count), by the multilingual embedder's similarity alone; else by keyword coverage
        and dense similarity."""
        scored = [h.answerable for h in hits if h.answerable is not None]
        if scored:
            return max(scored) < self.config.min_answerable
        if across:
            return (hits[0].dense_score or 0.0) < self.config.cross_language_min_dense
        return self.config.refusal[language].refuses(*evidence(hits, sentences))

    def _catalogue(self, question: str, scope: Scope, language: str) -> Answer:
        """The policies ``scope`` allows, for a question about the library itself."""
        records = self.library.records()
        allowed = self.library.filters(scope)
        if allowed is not None:
            records = {d: records[d] for d in allowed["doc_id"] if d in records}
        shown = newest(list(records.values()))
        openings = self.passages.chunks([chunk_id(r.doc_id, 0) for r in shown])
        listed = [
            (self.library.policy_line(r, language), c)
            for r in shown
            if (c := openings.get(chunk_id(r.doc_id, 0)))
        ]
        return catalogue_answer(question, len(records), listed, language, scope.in_force_only)

    def _pick(
        self, question: str, history: Sequence[Turn], scope: Scope
    ) -> tuple[str, Scope] | None:
        """After a list of policies, a question that names a place in it ("第二个政策的申请条件
        是什么？"): the question with that policy's title for the words that named it, and the
        scope narrowed to it. None for any other question."""
        previous = next((t.content for t in reversed(history) if t.role == "user"), None)
        if previous is None or not asks_for_catalogue(previous):
            return None
        listing = self._catalogue(previous, scope, detect_language(previous)).citations
        choice = picked(question, len(listing))
        if choice is None:
            return None
        place, words = choice
        named = question.replace(words, listing[place].title, 1)
        return named, replace(scope, doc_ids=(listing[place].doc_id,))

    def _with_body(self, hit: Hit) -> Hit:
        """A passage of headings only ("二、支持物资供应") read on through the next passage of
        its document, which holds what they head; cited as the passage found (``joined``)."""
        if has_body(hit.chunk):
            return hit
        following = self._next_chunk(hit.chunk)
        return hit if following is None else replace(hit, chunk=joined(hit.chunk, following))

    def _next_chunk(self, chunk: Chunk) -> Chunk | None:
        """The passage after ``chunk`` in its document, if any: after the one it already reaches
        into when it was read on (``_with_body``)."""
        wanted = [chunk_id(chunk.doc_id, chunk.ordinal + step) for step in (1, 2)]
        found = self.passages.chunks(wanted)
        for following in (found.get(w) for w in wanted):
            if following is None or following.end > chunk.end:
                return following
        return None

    def _search_document(self, probe: str, doc_id: str) -> list[Hit]:
        return self.retriever.search(probe, top_k=6, filters={"doc_id": [doc_id]})

    def _region(self, doc_id: str) -> str:
        record = self.library.records().get(doc_id)
        return record.info.region if record is not None else ""

    def _standalone(self, question: str, history: Sequence[Turn]) -> str:
        if not history:
            return question
        if self.llm is not None:
            transcript = "\n".join(f"{t.role}: {t.content}" for t in history)
            prompt = CONDENSE_TEMPLATE.format(history=transcript, question=question)
            try:
                rewritten = self.llm.complete([ChatMessage("user", prompt)]).strip()
                if rewritten:
                    return rewritten[: self.config.max_question_chars]
            except LLMError:
                logger.info("condense step failed; using the heuristic follow-up query")
        return follow_up_query(question, history)
