"""What a reader needs besides vectors: chunk records, documents and keyword tokens.

With embedded Chroma the registry (SQLite beside it) answers these. In server mode app replicas
have no registry: the writer stores every field a reader needs in each vector's Chroma metadata
and bumps a generation number in the collection's metadata after each write; a replica reads the
whole collection into a :class:`ChromaCatalog` snapshot and reads it again when the generation
moves (checked at most every ``refresh_seconds``). The keyword index is derived from the same
snapshot, so every replica serves the same state once it has refreshed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from index_store.policy import PolicyInfo
from index_store.records import Chunk, DocumentRecord
from index_store.registry import KeywordRow
from index_store.structure import DocumentStructure

logger = logging.getLogger(__name__)

GENERATION_KEY = "policyqa_generation"
EMBEDDER_KEY = "policyqa_embedder"
TOKEN_SEPARATOR = "\x1f"  # tokens may contain spaces (English phrases never do, but be safe)
_PAGE = 2000


class Catalog(Protocol):
    """Read side of the index's records (implemented by the registry and by ChromaCatalog)."""

    @property
    def generation(self) -> int: ...

    def documents(self) -> list[DocumentRecord]: ...

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]: ...

    def keyword_rows(self) -> Iterable[KeywordRow]: ...

    def document_text(self, doc_id: str) -> str | None: ...

    def document_chunks(self, doc_id: str) -> list[Chunk]: ...

    def document_structure(self, doc_id: str) -> DocumentStructure | None: ...


def chunk_metadata(
    chunk: Chunk, record: DocumentRecord, tokens: Sequence[str], generation: int
) -> dict[str, Any]:
    """Everything a replica needs to rebuild the chunk, its document row and its keyword entry;
    ``generation`` is the one at which the writing batch commits."""
    return {
        "generation": generation,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "title": chunk.title,
        "heading_path": json.dumps(list(chunk.heading_path), ensure_ascii=False),
        "ordinal": chunk.ordinal,
        "start": chunk.start,
        "end": chunk.end,
        "page": -1 if chunk.page is None else chunk.page,
        "kind": record.kind,
        "content_hash": record.content_hash,
        "n_chars": record.n_chars,
        "ingested_at": record.ingested_at,
        "tokens": TOKEN_SEPARATOR.join(tokens),
        "policy": json.dumps(record.info.to_metadata(), ensure_ascii=False),
    }


def collection_pages(collection: Any, include: list[str]) -> Iterator[dict[str, Any]]:
    """The whole collection, ``_PAGE`` records at a time (``collection.get`` result dicts)."""
    offset = 0
    while True:
        page: dict[str, Any] = collection.get(include=include, limit=_PAGE, offset=offset)
        yield page
        if len(page["ids"]) < _PAGE:
            return
        offset += _PAGE


def collection_generation(collection: Any) -> int:
    return int((collection.metadata or {}).get(GENERATION_KEY, 0))


def bump_generation(collection: Any, embedder_key: str) -> None:
    """Tell replicas the collection changed (one writer at a time, so read-modify-write is safe)."""
    generation = collection_generation(collection) + 1
    collection.modify(metadata={GENERATION_KEY: generation, EMBEDDER_KEY: embedder_key})


@dataclass(frozen=True)
class _Snapshot:
    generation: int
    chunks: dict[str, Chunk]
    rows: list[KeywordRow]
    documents: list[DocumentRecord]
    by_doc: dict[str, list[Chunk]]  # a document's chunks, for rebuilding its text
    # Each document's text, rebuilt once per snapshot (every citation of it reads the text),
    # and its structure, parsed once from that text.
    texts: dict[str, str | None] = field(default_factory=dict)
    structures: dict[str, DocumentStructure] = field(default_factory=dict)


class ChromaCatalog:
    """A replica's snapshot of a server-mode collection, refreshed when the writer bumps the
    generation. Chunks outside the snapshot are unknown, exactly like ids the registry lacks."""

    def __init__(
        self,
        client: Any,
        collection_name: str,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._name = collection_name
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._checked_at = float("-inf")
        self._remote_generation = 0

    @property
    def generation(self) -> int:
        """The collection's generation, read from the server at most every refresh interval."""
        now = self._clock()
        if now - self._checked_at >= self._refresh_seconds:
            collection = self._client.get_collection(self._name)
            self._remote_generation = collection_generation(collection)
            self._checked_at = now
        return self._remote_generation

    def _current(self) -> _Snapshot:
        generation = self.generation
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                self._snapshot = self._load(generation)
            return self._snapshot

    def _load(self, generation: int) -> _Snapshot:
        """Read every vector's record; keep what a reader at ``generation`` may see: chunks of
        committed batches only, and per source only its newest document version (an old
        version's vectors linger until the writer has deleted them)."""
        started = time.perf_counter()
        collection = self._client.get_collection(self._name)
        metas: dict[str, dict[str, Any]] = {}
        texts: dict[str, str] = {}
        for page in collection_pages(collection, ["documents", "metadatas"]):
            for chunk_id, text, meta in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                if int(meta.get("generation", 0)) <= generation:
                    metas[chunk_id], texts[chunk_id] = meta, text or ""
        newest: dict[str, tuple[int, str]] = {}
        for meta in metas.values():
            source = str(meta["source"])
            candidate = (int(meta.get("generation", 0)), str(meta["doc_id"]))
            newest[source] = max(newest.get(source, candidate), candidate)
        live = {doc_id for _, doc_id in newest.values()}
        chunks: dict[str, Chunk] = {}
        rows: list[KeywordRow] = []
        docs: dict[str, dict[str, Any]] = {}
        for chunk_id, meta in metas.items():
            if str(meta["doc_id"]) not in live:
                continue
            chunk = chunks[chunk_id] = _chunk(chunk_id, texts[chunk_id], meta)
            tokens = str(meta["tokens"]).split(TOKEN_SEPARATOR)
            rows.append(KeywordRow(chunk_id, chunk.doc_id, chunk.source, tokens))
            docs.setdefault(chunk.doc_id, meta)
        rows.sort(key=lambda r: (r.doc_id, chunks[r.chunk_id].ordinal))
        counts = Counter(c.doc_id for c in chunks.values())
        documents = sorted(
            (_document(doc_id, meta, counts[doc_id]) for doc_id, meta in docs.items()),
            key=lambda d: d.source,
        )
        logger.info(
            "catalog loaded from chroma chunks=%d documents=%d generation=%d seconds=%.2f",
            len(chunks),
            len(documents),
            generation,
            time.perf_counter() - started,
        )
        by_doc: dict[str, list[Chunk]] = {}
        for chunk in chunks.values():
            by_doc.setdefault(chunk.doc_id, []).append(chunk)
        return _Snapshot(generation, chunks, rows, documents, by_doc)

    def documents(self) -> list[DocumentRecord]:
        return list(self._current().documents)

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        known = self._current().chunks
        return {cid: known[cid] for cid in chunk_ids if cid in known}

    def keyword_rows(self) -> Iterable[KeywordRow]:
        return list(self._current().rows)

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in reading order."""
        return sorted(self._current().by_doc.get(doc_id, []), key=lambda c: c.ordinal)

    def document_structure(self, doc_id: str) -> DocumentStructure | None:
        """The document's structure, parsed from its rebuilt text once per snapshot (Chroma
        metadata holds no per-document fields)."""
        snapshot = self._current()
        if doc_id not in snapshot.structures:
            text = _document_text(snapshot, doc_id)
            if text is None:
                return None
            snapshot.structures[doc_id] = DocumentStructure.parse(text)
        return snapshot.structures[doc_id]

    def document_text(self, doc_id: str) -> str | None:
        """The document rebuilt from its chunks at their offsets (Chroma holds no whole
        texts); what no chunk covers, whitespace between chunks, reads as a line break."""
        return _document_text(self._current(), doc_id)


def _document_text(snapshot: _Snapshot, doc_id: str) -> str | None:
    """``ChromaCatalog.document_text`` within one snapshot, rebuilt on its first use there."""
    if doc_id not in snapshot.texts:
        snapshot.texts[doc_id] = _rebuilt(snapshot.by_doc.get(doc_id, []))
    return snapshot.texts[doc_id]


def _rebuilt(chunks: list[Chunk]) -> str | None:
    """The text ``chunks`` (one document's, looked up by document: scanning every chunk would
    cost milliseconds per citation at 100k chunks) cover at their offsets, gaps as line
    breaks."""
    parts = sorted(chunks, key=lambda c: c.start)
    if not parts:
        return None
    text = [" "] * max(c.end for c in parts)
    covered = [False] * len(text)
    for c in parts:
        text[c.start : c.end] = c.text
        covered[c.start : c.end] = [True] * (c.end - c.start)
    return "".join(ch if ok else "\n" for ch, ok in zip(text, covered, strict=True))


def _chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    page = int(meta["page"])
    return Chunk(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        ordinal=int(meta["ordinal"]),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        heading_path=tuple(json.loads(str(meta["heading_path"]))),
        page=None if page < 0 else page,
        source=str(meta["source"]),
        title=str(meta["title"]),
    )


def _document(doc_id: str, meta: dict[str, Any], n_chunks: int) -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id,
        source=str(meta["source"]),
        title=str(meta["title"]),
        kind=str(meta["kind"]),
        content_hash=str(meta["content_hash"]),
        n_chunks=n_chunks,
        n_chars=int(meta["n_chars"]),
        ingested_at=str(meta["ingested_at"]),
        info=PolicyInfo.from_metadata(json.loads(str(meta.get("policy", "{}")))),
    )
