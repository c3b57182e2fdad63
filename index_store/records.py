"""Typed records that cross module boundaries (no dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal

from index_store.policy import PolicyInfo

HEADING_SEPARATOR = " › "


def page_label(page: int, chinese: bool) -> str:
    """How citations name a page: 第N页 in a Chinese document, p. N in another."""
    return f"第{page}页" if chinese else f"p. {page}"


@dataclass(frozen=True)
class TableSpan:
    """Where a table's rows lie in a document's text (one row a line) and what names it."""

    start: int
    end: int
    caption: str


@dataclass(frozen=True)
class SourceDocument:
    """A loaded document: normalised text plus what is known about where it came from.

    ``source`` is the document's stable key (a resolved file path, or a dataset id): a document
    ingested again under the same key replaces its previous version.
    ``page_starts`` holds the character offset at which each page begins (PDFs, images);
    ``tables`` where table rows lie, for the chunker to cut between rows.
    """

    source: str
    text: str
    title: str
    kind: str = "text"
    page_starts: tuple[int, ...] = ()
    tables: tuple[TableSpan, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def page_at(self, offset: int) -> int | None:
        """1-based page number holding ``offset``, or None when the document has no pages."""
        if not self.page_starts:
            return None
        page = 0
        for i, start in enumerate(self.page_starts):
            if start <= offset:
                page = i
            else:
                break
        return page + 1


@dataclass(frozen=True)
class ChunkDraft:
    """A piece of a document as the chunker cuts it, before ids are assigned."""

    text: str
    start: int
    end: int
    heading_path: tuple[str, ...]
    page: int | None = None


@dataclass(frozen=True)
class Chunk:
    """A stored chunk: the unit that is embedded, keyword-indexed, retrieved and cited."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    start: int
    end: int
    heading_path: tuple[str, ...]
    page: int | None
    source: str
    title: str

    @property
    def locator(self) -> str:
        """Human-readable position: heading path below the title, plus the page if known
        (第N页 in a Chinese document, p. N in another, as the citations write it)."""
        parts = list(self.heading_path[1:]) if len(self.heading_path) > 1 else []
        text = HEADING_SEPARATOR.join(parts)
        if self.page is not None:
            chinese = not self.title.isascii()
            page = page_label(self.page, chinese)
            text = f"{text}{' ' if chinese else ', '}{page}" if text else page
        return text


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the ranks each retriever gave it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    dense_score: float | None = None
    keyword_score: float | None = None
    # The same passage in other documents (a notice reprinted by several sites), best first:
    # shown once, with these named beside it.
    copies: tuple[Chunk, ...] = ()
    # Second stage (cross-encoder): its logit, and the calibrated probability that this
    # passage answers the question; None when no reranker ran.
    rerank_score: float | None = None
    answerable: float | None = None


DocumentStatus = Literal["indexed"]


@dataclass(frozen=True)
class DocumentRecord:
    """One registry row: the current version of a document in the index."""

    doc_id: str
    source: str
    title: str
    kind: str
    content_hash: str
    n_chunks: int
    n_chars: int
    ingested_at: str
    status: DocumentStatus = "indexed"
    info: PolicyInfo = field(default_factory=PolicyInfo)


# skipped: a file in a folder that no loader reads (e.g. .csv), listed with its reason.
FileStatus = Literal["added", "updated", "unchanged", "failed", "skipped"]


@dataclass(frozen=True)
class FileOutcome:
    """What ingest did with one input."""

    source: str
    status: FileStatus
    doc_id: str | None = None
    chunks: int = 0
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class IngestReport:
    """Summary of one ingest run."""

    outcomes: tuple[FileOutcome, ...]
    seconds: float
    embedded_chunks: int

    def by_status(self, status: FileStatus) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def failed(self) -> bool:
        return any(o.status == "failed" for o in self.outcomes)


AnswerMode = Literal["extractive", "llm"]


@dataclass(frozen=True)
class Copy:
    """Where else a cited passage's text stands, word for word."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    locator: str
    start: int
    end: int

    @classmethod
    def of(cls, c: Chunk) -> Copy:
        return cls(c.chunk_id, c.doc_id, c.source, c.title, c.locator, c.start, c.end)


@dataclass(frozen=True)
class Citation:
    """One cited passage: ``[n]`` in the answer text points here."""

    n: int
    doc_id: str
    source: str
    title: str
    locator: str
    text: str
    start: int
    end: int
    score: float
    chunk_id: str = ""
    quote: str = ""  # the sentences of ``text`` the answer relies on, verbatim, one per line
    # Where the quote sits in the document (offsets into its text; the chunk when no quote).
    quote_start: int = 0
    quote_end: int = 0
    clause: str = ""  # "第三章 第十二条 第二款", "Section 4.2(b)", with the page for PDFs
    policy: str = ""  # 《title》（文号，validity）
    copies: tuple[Copy, ...] = ()  # the same passage in other documents

    @classmethod
    def from_hit(cls, n: int, hit: Hit, quote: str = "") -> Citation:
        c = hit.chunk
        span = (c.start, c.end)
        lines = quote.split("\n") if quote else []
        first = c.text.find(lines[0]) if lines else -1
        if first >= 0:
            last = c.text.find(lines[-1], first)
            end = last + len(lines[-1]) if last >= 0 else first + len(lines[0])
            span = (c.start + first, c.start + end)
        return cls(
            n=n,
            doc_id=c.doc_id,
            source=c.source,
            title=c.title,
            locator=c.locator,
            text=c.text,
            chunk_id=c.chunk_id,
            start=c.start,
            end=c.end,
            score=hit.score,
            quote=quote,
            quote_start=span[0],
            quote_end=span[1],
            clause=c.locator,
            copies=tuple(Copy.of(copy) for copy in hit.copies),
        )


@dataclass(frozen=True)
class Answer:
    """What every interface renders: the answer text with ``[n]`` marks and its citations."""

    question: str
    answer: str
    mode: AnswerMode
    refused: bool
    citations: tuple[Citation, ...]
    notice: str | None = None  # e.g. "the LLM endpoint failed; extractive answer shown"
    warnings: tuple[str, ...] = ()  # e.g. numbers in an LLM answer found in no cited passage
    language: str = "en"
    basis: tuple[str, ...] = ()  # the cited policies: 《title》（文号，validity）
    checklist: tuple[Condition, ...] = ()  # eligibility questions only
    as_of: str = ""  # the day whose policies counted as in force (ISO date)
    # LLM answers with a reranker: the share of cited sentences their passages support, and
    # the sentences they do not (chatbot.answering.faithfulness).
    faithfulness: float | None = None
    unsupported: tuple[str, ...] = ()
    # Extractive answers: the passages match the question only in part, and may not answer it
    # in full (the answer says so).
    partial: bool = False


ConditionStatus = Literal["met", "not_met", "unknown"]


@dataclass(frozen=True)
class Condition:
    """One condition a cited clause sets, judged against what the user said about themselves."""

    category: str  # size, region, industry, founded, headcount, amount, deadline, materials
    text: str  # the clause's sentence, verbatim
    n: int  # the citation it comes from
    status: ConditionStatus
    reason: str  # why, in the user's language


def public_source(source: str) -> str:
    """A document's source as clients see it: a file path becomes the file's name, so answers,
    the UI and feedback exports never show the server's folders; any other source (an eval
    set's document id, a URL) is shown as it is."""
    if source.startswith("/") or (len(source) > 2 and source[1] == ":" and source[2] in "\\/"):
        return PureWindowsPath(source).name if "\\" in source else PurePosixPath(source).name
    return source
