"""The document side of answering: which documents a scope allows, and what an answer says
about the policies it cites (name, 文号, validity, clause, expiry and repeal warnings)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from chatbot.answering.clauses import clause_locator
from chatbot.answering.prompts import (
    LIFECYCLE_WARNINGS,
    NOT_IN_FORCE_NOTICE,
    OCR_NOTE,
    POLICY_LINE,
)
from chatbot.answering.questions import follow_up_query
from index_store.policy import (
    LifecycleStatus,
    Scope,
    lifecycle_status,
    readable,
    select_documents,
    supersessions,
)
from index_store.records import Answer, Citation, DocumentRecord
from index_store.store import Filters, IndexStore
from index_store.structure import DocumentStructure

if TYPE_CHECKING:
    from chatbot.answering.asked import Asked, Evidence
    from chatbot.answering.evidence import EvidenceFinder
    from chatbot.answering.retrieval import HybridRetriever


class Library:
    """Document records of one index, cached per index generation (a few thousand rows at
    most, read on every question otherwise)."""

    def __init__(self, store: IndexStore, today: Callable[[], date] = date.today) -> None:
        self.store = store
        self.today = today
        self._lock = threading.Lock()
        self._generation = -1
        self._records: dict[str, DocumentRecord] = {}
        self._replaced: dict[str, DocumentRecord] = {}
        # Filters by (scope, day): every question would otherwise walk all document records.
        self._filters: dict[tuple[Scope, date], Filters | None] = {}

    def records(self) -> dict[str, DocumentRecord]:
        generation = self.store.generation
        with self._lock:
            if generation != self._generation:
                records = self.store.documents()
                self._records = {r.doc_id: r for r in records}
                self._replaced = supersessions(records)
                self._filters = {}
                self._generation = generation
            return self._records

    def visible(self, labels: frozenset[str] | None) -> list[DocumentRecord]:
        """The documents a reader with ``labels`` may see (None: all)."""
        return [r for r in self.records().values() if readable(r, labels)]

    def filters(self, scope: Scope) -> Filters | None:
        """The retrieval filter for ``scope``: None when it allows every document, and an
        empty ``doc_id`` list when it allows none."""
        records = self.records()  # first: a new generation empties the cache
        key = (scope, scope.day(self.today()))
        if key not in self._filters:
            if len(self._filters) > 1024:  # user-typed filters vary; keep the cache bounded
                self._filters.clear()
            allowed = select_documents(list(records.values()), scope, key[1])
            everything = len(allowed) == len(records)
            self._filters[key] = None if everything else {"doc_id": [r.doc_id for r in allowed]}
        return self._filters[key]

    def out_of_force_widens(self, scope: Scope) -> bool:
        """Whether dropping ``scope``'s in-force condition allows more documents: when it does
        not, a second search without it would repeat the first."""
        narrow = self.filters(scope)
        if narrow is None or not scope.in_force_only:
            return False
        wide = self.filters(replace(scope, in_force_only=False))
        return wide is None or len(wide["doc_id"]) > len(narrow["doc_id"])

    def status(self, doc_id: str, as_of: date) -> tuple[LifecycleStatus, DocumentRecord | None]:
        """A document's lifecycle status on ``as_of`` and the document that repealed it."""
        record = self.records().get(doc_id)
        if record is None:
            return "in_force", None
        newer = self._replaced.get(doc_id)
        return lifecycle_status(record, as_of, newer), newer

    def policy_line(self, record: DocumentRecord, language: str) -> str:
        """《title》（文号，validity）for the answer's "based on" line; unknown parts left out."""
        info = record.info
        start, until = info.validity()
        words = POLICY_LINE[language]
        parts = [info.doc_number] if info.doc_number else []
        if start:
            parts.append(words["from"].format(day=start))
        if until:
            parts.append(words["until"].format(day=until))
        if not (start or until):
            parts.append(words["unknown"])
        return words["line"].format(title=record.title, details=words["sep"].join(parts))

    def annotate(self, answer: Answer, as_of: date) -> Answer:
        """Clause locators on the citations, the policies the answer rests on, and a warning
        for each cited policy that is not in force on ``as_of``."""
        language = answer.language
        citations: list[Citation] = []
        basis: list[str] = []
        warnings: list[str] = []
        records = self.records()
        chunks = self.store.chunks([c.chunk_id for c in answer.citations])
        texts: dict[str, tuple[str | None, DocumentStructure | None]] = {}
        for c in answer.citations:
            record = records.get(c.doc_id)
            if c.doc_id not in texts:  # the markers as parsed at ingest, the text for lines
                texts[c.doc_id] = (
                    self.store.document_text(c.doc_id),
                    self.store.document_structure(c.doc_id),
                )
            text, structure = texts[c.doc_id]
            chunk = chunks.get(c.chunk_id)
            clause = c.locator
            if chunk is not None:
                quote_pos = c.quote_start if c.quote else None
                clause = clause_locator(
                    chunk.heading_path,
                    text,
                    quote_pos,
                    chunk.page,
                    chunk.start,
                    c.quote_end if c.quote else None,
                    structure.marks if structure is not None else None,
                )
                if record is not None and str(chunk.page) in record.info.ocr_pages:
                    clause += OCR_NOTE[language]
            line = self.policy_line(record, language) if record is not None else ""
            citations.append(replace(c, clause=clause, policy=line))
            if record is None or answer.refused or line in basis:
                continue
            basis.append(line)
            status, newer = self.status(c.doc_id, as_of)
            if status != "in_force":
                warnings.append(self._warning(record, status, newer, language))
        return replace(
            answer,
            citations=tuple(citations),
            basis=tuple(basis),
            warnings=(*answer.warnings, *warnings),
            as_of=as_of.isoformat(),
        )

    def _warning(
        self,
        record: DocumentRecord,
        status: LifecycleStatus,
        newer: DocumentRecord | None,
        language: str,
    ) -> str:
        words = LIFECYCLE_WARNINGS[language]
        info = record.info
        if status == "superseded" and newer is not None:
            return words["superseded"].format(
                title=record.title, newer=self.policy_line(newer, language)
            )
        if status == "expired":
            return words["expired"].format(title=record.title, day=info.expires)
        return words["not_yet_effective"].format(title=record.title, day=info.effective)


class TopicRoute:
    """A follow-up ("那怎么申请？") is searched within the policy the previous answer quoted,
    unless it names another one (a 《title》 or a policy's name), and among all policies when
    that one does not say."""

    def __init__(
        self, retriever: HybridRetriever, library: Library, finder: EvidenceFinder, max_chars: int
    ) -> None:
        self.retriever = retriever
        self.library = library
        self.finder = finder
        self.max_chars = max_chars

    def find(self, asked: Asked) -> Evidence:
        topic = self._topic(asked)
        found = self.finder.find_asked(asked, topic)
        if found.refused and topic is not asked.scope:  # the earlier policy does not say
            found = self.finder.find_asked(asked, asked.scope)
        return found

    def _topic(self, asked: Asked) -> Scope:
        scope, history = asked.scope, asked.history
        if not history or history[-1].role != "assistant" or scope.doc_ids:
            return scope
        if follow_up_query(asked.question, history) == asked.question:  # a question of its own
            return scope
        shown = history[-1].content[: self.max_chars]
        quoted = self.retriever.search_quotes(shown, top_k=1, filters=self.library.filters(scope))
        if not quoted:
            return scope
        doc_id = quoted[0].chunk.doc_id
        others = (r.title for d, r in self.library.records().items() if d != doc_id and r.title)
        if "《" in asked.question or any(title in asked.question for title in others):
            return scope
        return replace(scope, doc_ids=(doc_id,))


class WideningRoute:
    """When no policy in force answers, policies that have expired or been replaced may: the
    answer then says so."""

    def __init__(self, library: Library, finder: EvidenceFinder) -> None:
        self.library = library
        self.finder = finder

    def widen(self, asked: Asked, found: Evidence) -> Evidence:
        if not found.refused or not self.library.out_of_force_widens(asked.scope):
            return found
        wider_scope = replace(asked.scope, in_force_only=False)
        wider = self.finder.find_asked(asked, wider_scope)
        if wider.refused:
            return found
        return replace(wider, notice=NOT_IN_FORCE_NOTICE[asked.language])
