"""An answer written by the configured LLM over the retrieved passages: streamed through the
citation and output filters, falling back to the extractive answer when the endpoint fails or
the output recites the system prompt, with unverified numbers and unsupported sentences flagged.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, replace

from chatbot.answering.citations import CitationStreamFilter, cited_numbers, unverified_numbers
from chatbot.answering.compose import extractive_answer
from chatbot.answering.extractive import Sentence
from chatbot.answering.faithfulness import check_support, faithfulness
from chatbot.answering.llm import ChatMessage, LLMClient, LLMError
from chatbot.answering.output_filter import OutputGuard, PromptLeakError
from chatbot.answering.prompts import (
    LLM_FALLBACK_NOTICE,
    LLM_WITHHELD_NOTICE,
    UNSUPPORTED_SENTENCES,
    UNVERIFIED_NUMBERS,
)
from index_store.records import Answer, Citation, Hit
from index_store.reranker.model import PairScorer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LLMAnswerer:
    """Writes answers with ``llm``; ``judge`` (the reranker, when there is one) scores whether
    each cited sentence is supported, below ``min_answerable`` it is flagged."""

    llm: LLMClient
    allowed_link_hosts: frozenset[str]
    judge: PairScorer | None = None
    min_answerable: float = 0.5

    def answer(
        self,
        question: str,
        messages: list[ChatMessage],
        hits: list[Hit],
        sentences: list[Sentence],
        language: str,
    ) -> Generator[str, None, Answer]:
        """Stream the model's answer to ``messages`` (the grounded prompt over ``hits``)."""
        filt = CitationStreamFilter(valid=set(range(1, len(hits) + 1)))
        guard = OutputGuard(self.allowed_link_hosts, language)
        parts: list[str] = []
        try:
            for delta in self.llm.stream(messages):
                clean = guard.feed(filt.feed(delta))
                if clean:
                    parts.append(clean)
                    yield clean
            tail = guard.feed(filt.flush()) + guard.flush()
            if tail:
                parts.append(tail)
                yield tail
        except LLMError as exc:
            logger.warning("llm answer failed kind=%s; falling back to extractive", exc.kind)
            fallback = extractive_answer(question, hits, sentences, language)
            return replace(fallback, notice=LLM_FALLBACK_NOTICE[language])
        except PromptLeakError:
            logger.warning("llm answer withheld: it contained the system prompt canary")
            fallback = extractive_answer(question, hits, sentences, language)
            return replace(fallback, notice=LLM_WITHHELD_NOTICE[language])
        text = "".join(parts).strip()
        numbers = cited_numbers(text)
        citations = tuple(
            Citation.from_hit(n, hits[n - 1]) for n in sorted(numbers) if 1 <= n <= len(hits)
        )
        unverified = unverified_numbers(text, [c.text for c in citations])
        warnings: tuple[str, ...] = (
            (UNVERIFIED_NUMBERS[language].format(numbers="、".join(unverified)),)
            if unverified
            else ()
        )
        score, unsupported = self._support(text, citations)
        if unsupported:
            shown = " / ".join(unsupported)
            warnings += (UNSUPPORTED_SENTENCES[language].format(sentences=shown),)
        return Answer(
            question=question,
            answer=text,
            mode="llm",
            refused=not citations,
            citations=citations,
            warnings=warnings,
            language=language,
            faithfulness=score,
            unsupported=unsupported,
        )

    def _support(
        self, text: str, citations: tuple[Citation, ...]
    ) -> tuple[float | None, tuple[str, ...]]:
        """How faithful an LLM answer is to what it cites (``chatbot.answering.faithfulness``):
        the share of its cited sentences supported, and the ones that are not; (None, ())
        without a reranker to judge them."""
        if self.judge is None:
            return None, ()
        judged = check_support(text, citations, self.judge, self.min_answerable)
        return faithfulness(judged), tuple(s.text for s in judged if not s.supported)
