"""The one answer service behind every interface: question (+ history, filters) -> Answer.

Retrieve, decide whether the passages answer at all, then answer extractively (default) or with
the configured LLM; any LLM failure falls back to the extractive answer with a short notice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from chatbot.catalogue import asks_for_catalogue, catalogue_answer, newest, picked
from chatbot.citations import CitationStreamFilter, cited_numbers, unverified_numbers
from chatbot.eligibility import build_checklist, checklist_kinds, only_how_to_apply
from chatbot.extractive import Sentence, has_body, joined, reach, run_on, select_sentences
from chatbot.library import Library
from chatbot.llm import ChatMessage, LLMClient, LLMError, Role
from chatbot.output_guard import CANARY, OutputGuard, PromptLeakError
from chatbot.position import Located, locate, plan_follow_up
from chatbot.prompts import (
    APPLICATION_QUERY,
    CHECKLIST_QUERY,
    CONDENSE_TEMPLATE,
    CONTEXT_TEMPLATE,
    EXTRACTIVE_INTRO,
    LANGUAGE_NAMES,
    LLM_FALLBACK_NOTICE,
    LLM_WITHHELD_NOTICE,
    NOT_IN_FORCE_NOTICE,
    PASSAGE_TEMPLATE,
    POSSIBLY_RELATED,
    REFUSAL,
    SYSTEM_PROMPT,
    UNVERIFIED_NUMBERS,
)
from chatbot.retrieval import HybridRetriever
from index_store.errors import InvalidQuestionError
from index_store.ids import chunk_id
from index_store.language import detect_language
from index_store.policy import Scope, repeals
from index_store.records import Answer, Chunk, Citation, Hit
from index_store.settings import Settings

logger = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Below this coverage the follow-up question alone picks sentences poorly ("那审核要多久？").
FOLLOW_UP_MIN_COVERAGE = 0.2
_FOLLOW_UP = re.compile(r"^(那|那么|还有|另外|此外|它|这|and\b|what about|how about|also\b)", re.I)


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation."""

    role: Role
    content: str


@dataclass(frozen=True)
class RefusalPolicy:
    """Refuse when the best sentence covers less than ``min_coverage`` of the question's
    keyword weight *and* the best dense similarity is below ``min_dense``. The values in use
    (``Settings.refusal_*``) were measured per language by ``python -m eval.refusal``."""

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

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerConfig:
        return cls(
            top_k=settings.top_k,
            max_question_chars=settings.max_question_chars,
            allowed_link_hosts=frozenset(
                h.strip().lower() for h in settings.allowed_link_hosts.split(",") if h.strip()
            ),
            refusal=_refusal_policies(settings),
        )


def _refusal_policies(settings: Settings) -> dict[str, RefusalPolicy]:
    return {
        "zh": RefusalPolicy(settings.refusal_zh_min_coverage, settings.refusal_zh_min_dense),
        "en": RefusalPolicy(settings.refusal_en_min_coverage, settings.refusal_en_min_dense),
    }


def clean_question(question: str, max_chars: int) -> str:
    """The question with control characters removed; empty or over-long ones are errors."""
    cleaned = _CONTROL.sub(" ", question).strip()
    if not cleaned:
        raise InvalidQuestionError("the question is empty")
    if len(cleaned) > max_chars:
        raise InvalidQuestionError(
            f"the question has {len(cleaned)} characters; the limit is {max_chars}"
        )
    return cleaned


def follow_up_query(question: str, history: Sequence[Turn]) -> str:
    """Extractive follow-ups: a short or elliptical question carries the previous user
    question's topic into retrieval ("那申报截止时间呢？")."""
    previous = next((t.content for t in reversed(history) if t.role == "user"), None)
    if previous is None:
        return question
    short = len(question) < 14 if detect_language(question) == "zh" else len(question.split()) < 7
    if short or _FOLLOW_UP.match(question):
        return f"{previous} {question}"
    return question


class AnswerService:
    """Answers questions; one instance per process, shared by the CLI, UI and HTTP API."""

    def __init__(
        self,
        retriever: HybridRetriever,
        config: AnswerConfig,
        llm: LLMClient | None = None,
        llm_notice: dict[str, str] | None = None,
        library: Library | None = None,
    ) -> None:
        self.retriever = retriever
        self.config = config
        self.library = library or Library(retriever.store)
        self.llm = llm
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
        elif self.llm is not None:
            # ``query`` is the question rewritten to stand alone: the model sees no history.
            messages = build_messages(query, hits, language, as_of)
            answer = yield from self._llm_answer(question, messages, hits, sentences, language)
        else:
            answer = extractive_answer(question, hits, sentences, language)
        lead = answer.citations[0].quote.split("\n")[0] if answer.citations else ""
        if not answer.refused and checklist_kinds(question) and not repeals(lead):
            answer = self._with_checklist(answer, hits, as_of)
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

    def _locate(
        self, question: str, history: Sequence[Turn], scope: Scope, top_k: int
    ) -> Located | None:
        """For a follow-up like "And the next one?", the entry beside the one the answer just
        given quoted, or else the one the earlier question was about; None when the question
        points at no position, or when the earlier question finds no answer."""
        plan = plan_follow_up(question, [t.content for t in history if t.role == "user"])
        if plan is None:
            return None
        store = self.retriever.store
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
        idf = self.retriever.store.keyword_index().idf
        # Sentences answer the question as asked; the expanded follow-up query only helps
        # when the question alone matches nothing.
        sentences = select_sentences(question, hits, self.config.max_sentences, idf)
        best = max((s.score for s in sentences), default=0.0)
        if query != question and best < FOLLOW_UP_MIN_COVERAGE:
            sentences = select_sentences(query, hits, self.config.max_sentences, idf)
        refused = self.config.refusal[language].refuses(*evidence(hits, sentences))
        return hits, sentences, refused

    def _catalogue(self, question: str, scope: Scope, language: str) -> Answer:
        """The policies ``scope`` allows, for a question about the library itself."""
        records = self.library.records()
        allowed = self.library.filters(scope)
        if allowed is not None:
            records = {d: records[d] for d in allowed["doc_id"] if d in records}
        shown = newest(list(records.values()))
        openings = self.retriever.store.chunks([chunk_id(r.doc_id, 0) for r in shown])
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
        found = self.retriever.store.chunks(wanted)
        for following in (found.get(w) for w in wanted):
            if following is None or following.end > chunk.end:
                return following
        return None

    def _with_checklist(self, answer: Answer, hits: list[Hit], as_of: date) -> Answer:
        """The eligibility conditions of the best-matching policy, or for a how-to-apply
        question its deadline, materials and channel, each with its citation: its clauses about
        them are searched within that one document; the measure's own conditions come from the
        passages that answer."""
        doc_id = answer.citations[0].doc_id if answer.citations else hits[0].chunk.doc_id
        queries = APPLICATION_QUERY if only_how_to_apply(answer.question) else CHECKLIST_QUERY
        probe = f"{answer.question} {queries[answer.language]}"
        found = self.retriever.search(probe, top_k=6, filters={"doc_id": [doc_id]})
        cited = {c.chunk_id: c.n for c in answer.citations}
        base = max(cited.values(), default=0)
        new = sorted(
            {h.chunk.chunk_id: h for h in found if h.chunk.chunk_id not in cited}.values(),
            key=lambda h: h.chunk.ordinal,
        )
        numbers = {**cited, **{h.chunk.chunk_id: base + i for i, h in enumerate(new, 1)}}
        passages = [(c.n, c.text, True) for c in answer.citations if c.doc_id == doc_id]
        passages += [(numbers[h.chunk.chunk_id], h.chunk.text, False) for h in new]
        record = self.library.records().get(doc_id)
        region = record.info.region if record is not None else ""
        checklist = build_checklist(answer.question, passages, region, as_of, answer.language)
        quotes: dict[int, list[str]] = {}
        for condition in checklist:
            if condition.text not in quotes.setdefault(condition.n, []):
                quotes[condition.n].append(condition.text)
        # The answer's own marks keep their numbers; the clauses only the checklist cites
        # follow them without gaps.
        renumber: dict[int, int] = {}
        extra: list[Citation] = []
        for hit in new:
            n = numbers[hit.chunk.chunk_id]
            if n in quotes:
                renumber[n] = base + len(extra) + 1
                extra.append(Citation.from_hit(renumber[n], hit, "\n".join(quotes[n])))
        return replace(
            answer,
            citations=(*answer.citations, *extra),
            checklist=tuple(replace(c, n=renumber.get(c.n, c.n)) for c in checklist),
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

    def _llm_answer(
        self,
        question: str,
        messages: list[ChatMessage],
        hits: list[Hit],
        sentences: list[Sentence],
        language: str,
    ) -> Generator[str, None, Answer]:
        """Stream the model's answer to ``messages`` (the grounded prompt over ``hits``)."""
        assert self.llm is not None
        filt = CitationStreamFilter(valid=set(range(1, len(hits) + 1)))
        guard = OutputGuard(self.config.allowed_link_hosts, language)
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
        warnings = (
            (UNVERIFIED_NUMBERS[language].format(numbers="、".join(unverified)),)
            if unverified
            else ()
        )
        return Answer(
            question=question,
            answer=text,
            mode="llm",
            refused=not citations,
            citations=citations,
            warnings=warnings,
            language=language,
        )


def build_messages(question: str, hits: list[Hit], language: str, today: date) -> list[ChatMessage]:
    """The grounded prompt: system rules (with the date deadlines are judged against: today,
    or the day the user asked about), then the numbered passages and the question."""
    passages = "\n\n".join(
        PASSAGE_TEMPLATE.format(
            n=i,
            title=h.chunk.title,
            locator=f" › {h.chunk.locator}" if h.chunk.locator else "",
            text=h.chunk.text,
        )
        for i, h in enumerate(hits, 1)
    )
    return [
        ChatMessage(
            "system",
            SYSTEM_PROMPT.format(
                canary=CANARY, language_name=LANGUAGE_NAMES[language], today=today.isoformat()
            ),
        ),
        ChatMessage("user", CONTEXT_TEMPLATE.format(passages=passages, question=question)),
    ]


def extractive_answer(
    question: str, hits: list[Hit], sentences: list[Sentence], language: str
) -> Answer:
    """Selected sentences verbatim; each run of sentences from one passage ends with that
    passage's citation mark. Sentences on separate lines (list items) stay on separate lines."""
    numbers: dict[int, int] = {}
    quotes: dict[int, list[str]] = {}
    space = "" if language == "zh" else " "
    text = EXTRACTIVE_INTRO[language] + ("\n" if language == "zh" else " ")
    for i, s in enumerate(sentences):
        n = numbers.setdefault(s.hit_index, len(numbers) + 1)
        quotes.setdefault(s.hit_index, []).append(s.text)
        text += s.text
        nxt = sentences[i + 1] if i + 1 < len(sentences) else None
        if nxt is not None and nxt.hit_index == s.hit_index:
            gap = hits[s.hit_index].chunk.text[s.end : nxt.start]
            text += "\n" if "\n" in gap else space
        else:
            text += f"{space}[{n}]" + (space if nxt is not None else "")
    citations = tuple(
        Citation.from_hit(n, hits[i], quote="\n".join(quotes[i])) for i, n in numbers.items()
    )
    return Answer(
        question=question,
        answer=text,
        mode="extractive",
        refused=False,
        citations=citations,
        language=language,
    )


def refusal_answer(question: str, hits: list[Hit], language: str) -> Answer:
    """A plain refusal that still shows the closest passages as possibly related."""
    related = hits[:3]
    lines = [REFUSAL[language]]
    if related:
        lines.append(POSSIBLY_RELATED[language])
        lines.extend(
            f"[{i}] {h.chunk.title}" + (f" › {h.chunk.locator}" if h.chunk.locator else "")
            for i, h in enumerate(related, 1)
        )
    return Answer(
        question=question,
        answer="\n".join(lines),
        mode="extractive",
        refused=True,
        citations=tuple(Citation.from_hit(i, h) for i, h in enumerate(related, 1)),
        language=language,
    )
