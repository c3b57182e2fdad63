"""The one answer service behind every interface: question (+ history, filters) -> Answer.

An answer passes through a short list of routes, each a small object beside its logic, which the
service only orders: a question about the library itself is answered with the list of policies
(``policy_list``); a pick from that list is asked of the policy picked; a follow-up that points at
a list position is answered from the entry beside (``position``), any other question from a
search that keeps a follow-up on the earlier policy (``documents.TopicRoute``); when nothing in
force answers, policies out of force may (``documents.WideningRoute``); a quote cut off reads on
(``read_on``); the answer is written extractively (default) or by the configured LLM, whose
failures fall back to the extractive answer with a short notice; eligibility questions get a
checklist (``eligibility``).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from chatbot.answering import crosslingual
from chatbot.answering.abbreviations import spelled_out
from chatbot.answering.asked import Asked, Evidence
from chatbot.answering.compose import build_messages, extractive_answer, refusal_answer
from chatbot.answering.documents import Library, TopicRoute, WideningRoute
from chatbot.answering.eligibility import ChecklistRoute
from chatbot.answering.evidence import EvidenceFinder, RefusalPolicy, RefusalRules
from chatbot.answering.llm import ChatMessage, LLMClient, LLMError
from chatbot.answering.llm_answer import LLMAnswerer
from chatbot.answering.policy_list import CatalogueRoute, PickRoute
from chatbot.answering.position import PassageReader, PositionRoute
from chatbot.answering.prompts import CONDENSE_TEMPLATE
from chatbot.answering.questions import Turn, clean_question, follow_up_query
from chatbot.answering.read_on import ReadOnRoute
from chatbot.answering.retrieval import HybridRetriever
from index_store.language import detect_language
from index_store.policy import Scope
from index_store.records import Answer, Hit
from index_store.reranker.model import PairScorer
from index_store.settings import Settings

logger = logging.getLogger(__name__)


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
    # With ``refuse_by_model`` and a second stage: refuse when the best passage's calibrated
    # probability of answering the question is below this (the rule above applies to hits no
    # second stage scored).
    refuse_by_model: bool = False
    min_answerable: float = 0.1
    # A question in another language than its best passages: refuse when none of them holds
    # this share of its terms' weight, read through the policy glossary; without glossary
    # terms, below this similarity of the multilingual embedder.
    cross_language_min_coverage: float = crosslingual.MIN_COVERAGE
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
            refuse_by_model=settings.refusal_by == "model",
            min_answerable=settings.refusal_min_answerable,
        )

    def refusal_rules(self) -> RefusalRules:
        return RefusalRules(
            self.refusal,
            self.refuse_by_model,
            self.min_answerable,
            self.cross_language_min_coverage,
            self.cross_language_min_dense,
        )


def _refusal_policies(settings: Settings) -> dict[str, RefusalPolicy]:
    return {
        "zh": RefusalPolicy(
            settings.refusal_zh_min_coverage,
            settings.refusal_zh_min_dense,
            settings.partial_zh_min_coverage,
            settings.partial_zh_min_dense,
        ),
        "en": RefusalPolicy(
            settings.refusal_en_min_coverage,
            settings.refusal_en_min_dense,
            settings.partial_en_min_coverage,
            settings.partial_en_min_dense,
        ),
    }


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
        finder = EvidenceFinder(
            retriever, self.passages, self.library, config.refusal_rules(), config.top_k,
            config.max_sentences,
        )  # fmt: skip
        self.finder = finder
        self.catalogue = CatalogueRoute(self.library, self.passages)
        self.pick = PickRoute(self.catalogue)
        limit = config.max_question_chars
        self.position = PositionRoute(retriever, self.passages, self.library, finder, limit)
        self.topic = TopicRoute(retriever, self.library, finder, limit)
        self.widening = WideningRoute(self.library, finder)
        self.read_on = ReadOnRoute(finder.next_chunk)
        self.checklist = ChecklistRoute(retriever, self.library)

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
        asked = self._asked(question, history, scope)
        listed = self.catalogue.answer(asked)
        if listed is not None:
            yield listed.answer
            yield listed
            return
        asked = self.pick.rewrite(asked) or asked
        query = self._standalone(asked.question, asked.history)
        asked = replace(
            asked, question=self._spelled_out(asked.question), query=self._spelled_out(query)
        )
        found = self.position.find(asked, self.config.top_k) or self.topic.find(asked)
        found = self.read_on.extend(asked, self.widening.widen(asked, found))
        answer = yield from self._write(asked, found)
        answer = self.checklist.finish(asked, answer, found.hits)
        answer = self.library.annotate(answer, asked.as_of)
        notice = answer.notice or found.notice or (self.llm_notice or {}).get(asked.language)
        answer = replace(answer, question=asked.asked, notice=notice)
        if answer.mode == "extractive" or answer.refused:
            yield answer.answer
        yield answer

    def retrieve(
        self, question: str, history: Sequence[Turn], scope: Scope, top_k: int
    ) -> list[Hit]:
        """The passages an extractive answer to ``question`` draws on, best first: for a
        list-position follow-up the neighbouring entry's passage, else the search for the
        follow-up query. (With an LLM, answers search with its rewrite of the question.)"""
        # As asked: no cleaning or trimming of the history (the eval ranks what it sent).
        as_of = scope.day(self.library.today())
        asked = Asked(question, question, tuple(history), scope, detect_language(question), as_of)
        located = self.position.find(asked, top_k)
        if located is not None:
            return located.hits
        query = self._spelled_out(follow_up_query(question, history))
        return self.retriever.search(query, top_k=top_k, filters=self.library.filters(scope))

    def _spelled_out(self, text: str) -> str:
        """``text`` with the abbreviations the library never writes spelled out as it does."""
        return spelled_out(text, self.passages.keyword_index())

    def _asked(self, question: str, history: Sequence[Turn], scope: Scope | None) -> Asked:
        question = clean_question(question, self.config.max_question_chars)
        scope = scope or Scope()
        return Asked(
            question=question,
            asked=question,
            history=tuple(history)[-self.config.max_history_turns :],
            scope=scope,
            language=detect_language(question),
            as_of=scope.day(self.library.today()),
        )

    def _write(self, asked: Asked, found: Evidence) -> Generator[str | Answer, None, Answer]:
        """The refusal, the LLM's answer (streamed) or the extractive answer; returns it."""
        if found.refused:
            return refusal_answer(asked.question, found.hits, asked.language)
        if self._writer is not None:
            # ``query`` is the question rewritten to stand alone: the model sees no history.
            messages = build_messages(asked.query, found.hits, asked.language, asked.as_of)
            return (
                yield from self._writer.answer(
                    asked.question, messages, found.hits, found.sentences, asked.language
                )
            )
        return extractive_answer(
            asked.question, found.hits, found.sentences, asked.language, found.partial
        )

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
