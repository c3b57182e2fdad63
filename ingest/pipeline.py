"""The ingest pipeline: files or loaded documents -> chunks -> vectors + keyword tokens -> index.

Each document is all-or-nothing: a file that fails to load or chunk is reported with its reason
and skipped; the rest of the batch goes on. Unchanged documents cost one registry lookup. A run
is one write batch (see ``IndexStore.write_batch``): it commits at its end, all at once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from index_store.embedding.cache import EmbeddingCache
from index_store.errors import LoadError
from index_store.ids import chunk_id, content_hash, document_id, file_hash
from index_store.keyword import TOKENIZER_VERSION, tokenize
from index_store.numbering import MARKDOWN_LINK
from index_store.policy import DEFAULT_COLLECTION, PUBLIC_LABEL
from index_store.records import (
    HEADING_SEPARATOR,
    Chunk,
    DocumentRecord,
    FileOutcome,
    FileStatus,
    IngestReport,
    SourceDocument,
)
from index_store.registry import utc_now
from index_store.store import DocumentVersion, IndexStore
from index_store.structure import STRUCTURE_VERSION
from ingest.chunking import ChunkingConfig, chunk_document, table_header
from ingest.loaders import DEFAULT_OCR_MAX_PAGES, SUPPORTED_SUFFIXES
from ingest.paged import OCR_PAGES_KEY
from ingest.policy_meta import extract_policy_info
from ingest.sandbox import IsolatedLoader, ParseLimits

SUPPORTED_TYPES = " ".join(sorted(SUPPORTED_SUFFIXES))

logger = logging.getLogger(__name__)

# Bumped whenever chunking or the indexed text changes meaning, so old chunks get rebuilt.
CHUNKER_VERSION = "10"
# Bumped when lifecycle extraction changes, so documents get their metadata read again.
META_VERSION = "1"
# Chunks embedded together across small documents (the embedder is faster on batches).
_EMBED_GROUP = 128
# Registry metadata of a document read from a file: the file's bytes' hash and the ingest
# settings it was indexed with. Both unchanged: the file is not read again (a scan is not
# OCR'd again, no model is loaded).
FILE_HASH_KEY = "file_sha256"
INGEST_TAG_KEY = "ingest_tag"


@dataclass(frozen=True)
class Progress:
    """Where a running ingest is, sent after each file and after each OCR'd page."""

    file: str  # the file being read, or just finished
    files_done: int
    pages_done: int  # pages OCR'd so far in this run
    chunks: int  # chunks of the files finished so far
    outcome: FileOutcome | None = None  # set when ``file`` has finished


ProgressFn = Callable[[Progress], None]


class _Tracker:
    """Counts what a run has done and tells ``on_progress``."""

    def __init__(self, on_progress: ProgressFn | None) -> None:
        self.on_progress = on_progress
        self.files = self.pages = self.chunks = 0

    def page(self, source: str) -> None:
        self.pages += 1
        self._send(source, None)

    def done(self, outcome: FileOutcome) -> None:
        self.files += 1
        self.chunks += outcome.chunks or 0
        self._send(outcome.source, outcome)

    def _send(self, source: str, outcome: FileOutcome | None) -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(source, self.files, self.pages, self.chunks, outcome))


@dataclass(frozen=True)
class Ingestor:
    """What ingest needs, built once by the entry point and passed down."""

    store: IndexStore
    embedder: BaseEmbedding
    chunking: ChunkingConfig
    max_file_bytes: int
    cache: EmbeddingCache | None = None
    # Scans longer than this many pages without a text layer are refused (OCR takes seconds
    # a page).
    ocr_max_pages: int = DEFAULT_OCR_MAX_PAGES
    # Who may read what this ingestor writes (see ``index_store.policy``).
    collection: str = DEFAULT_COLLECTION
    labels: tuple[str, ...] = (PUBLIC_LABEL,)

    @property
    def version_tag(self) -> str:
        c = self.chunking
        return (
            f"v{CHUNKER_VERSION}.{TOKENIZER_VERSION}.{META_VERSION}.{STRUCTURE_VERSION}:"
            f"{c.size}:{c.overlap}:{c.min_chars}:{self.collection}:{','.join(sorted(self.labels))}"
        )


@dataclass(frozen=True)
class _Prepared:
    doc: SourceDocument
    record: DocumentRecord
    chunks: list[Chunk]
    status: FileStatus


def indexed_text(chunk: Chunk, document_text: str) -> str:
    """What the embedder and the keyword index see: the heading path gives a passage the
    context (policy title, chapter, clause) its own words often lack, and a passage cut from
    the middle of a table gets the table's header row (``table_header``). A markdown link
    counts by its text: its target is mostly URL, which costs embedding time and adds noise
    words (15 % fewer tokens on the handbook pages)."""
    header = table_header(document_text, chunk.start)
    context = HEADING_SEPARATOR.join(chunk.heading_path)
    text = "\n".join([context, header, chunk.text] if header else [context, chunk.text])
    return MARKDOWN_LINK.sub(r"\1", text)


def iter_files(paths: Sequence[Path]) -> Iterator[Path | FileOutcome]:
    """Files below ``paths`` (folders walked recursively, hidden entries skipped) in a stable
    order; a path that does not exist yields a failed outcome, and a file in a folder that no
    loader reads a skipped one (named with its reason, never silently left out)."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    file = Path(root, name)
                    if name.startswith("."):
                        continue
                    if file.suffix.lower() in SUPPORTED_SUFFIXES:
                        yield file
                    else:
                        yield FileOutcome(
                            str(file.resolve()),
                            "skipped",
                            reason="unsupported",
                            message=f"{file.name}: not a supported type ({SUPPORTED_TYPES})",
                        )
        elif path.exists():
            yield path
        else:
            yield FileOutcome(
                str(path), "failed", reason="missing", message=f"{path}: no such file or folder"
            )


def load_paths(
    paths: Sequence[Path],
    max_bytes: int,
    ocr_max_pages: int = DEFAULT_OCR_MAX_PAGES,
    on_page: Callable[[str], None] | None = None,
    skip: Callable[[Path, str], FileOutcome | None] | None = None,
) -> Iterator[SourceDocument | FileOutcome]:
    """Load every file (risky formats parsed in a limited child process, see ``sandbox``);
    ``on_page(source)`` hears of each page OCR'd; a file for which ``skip(path, file hash)``
    returns an outcome is not read."""
    loader = IsolatedLoader(max_bytes, ParseLimits(ocr_max_pages=ocr_max_pages))
    try:
        for item in iter_files(paths):
            if isinstance(item, FileOutcome):
                yield item
                continue
            try:
                digest = file_hash(item)
            except OSError as exc:
                message = f"{item}: {exc.strerror or exc}"
                yield FileOutcome(
                    str(item.resolve()), "failed", reason="unreadable", message=message
                )
                continue
            skipped = skip(item, digest) if skip is not None else None
            yield skipped or _loaded(item, digest, loader, on_page)
    finally:
        loader.close()


def unchanged_file(path: Path, digest: str, ing: Ingestor) -> FileOutcome | None:
    """An ``unchanged`` outcome when ``path`` is indexed from the same bytes (``digest``) with
    the same settings, else None (the file must be read)."""
    source = str(path.resolve())
    record = ing.store.registry.by_source(source)
    if record is None:
        return None
    meta = ing.store.registry.document_metadata(record.doc_id)
    if meta.get(INGEST_TAG_KEY) != ing.version_tag or meta.get(FILE_HASH_KEY) != digest:
        return None
    return FileOutcome(source, "unchanged", doc_id=record.doc_id, chunks=record.n_chunks)


def _loaded(
    item: Path, digest: str, loader: IsolatedLoader, on_page: Callable[[str], None] | None
) -> SourceDocument | FileOutcome:
    def page(_done: int, _total: int) -> None:
        if on_page is not None:
            on_page(str(item))

    try:
        doc = loader.load(item, page)
    except LoadError as exc:
        # The report names every failure (the CLI prints it once); the log line is for -v.
        logger.info("load failed path=%s reason=%s", item, exc.reason)
        return FileOutcome(str(item.resolve()), "failed", reason=exc.reason, message=str(exc))
    metadata = {**doc.metadata, FILE_HASH_KEY: digest}
    return replace(doc, source=str(item.resolve()), metadata=metadata)


def _prepare(doc: SourceDocument, ing: Ingestor) -> _Prepared | FileOutcome:
    text_hash = content_hash(doc.text)
    doc_id = document_id(doc.source, f"{text_hash}|{doc.title}|{ing.version_tag}")
    existing = ing.store.registry.by_source(doc.source)
    if existing is not None and existing.doc_id == doc_id:
        return FileOutcome(doc.source, "unchanged", doc_id=doc_id, chunks=existing.n_chunks)
    drafts = chunk_document(doc, ing.chunking)
    if not drafts:
        return FileOutcome(
            doc.source, "failed", reason="empty", message=f"{doc.source}: no text to index"
        )
    chunks = [
        Chunk(
            chunk_id=chunk_id(doc_id, i),
            doc_id=doc_id,
            ordinal=i,
            text=d.text,
            start=d.start,
            end=d.end,
            heading_path=d.heading_path,
            page=d.page,
            source=doc.source,
            title=doc.title,
        )
        for i, d in enumerate(drafts)
    ]
    record = DocumentRecord(
        doc_id=doc_id,
        source=doc.source,
        title=doc.title,
        kind=doc.kind,
        content_hash=text_hash,
        n_chunks=len(chunks),
        n_chars=len(doc.text),
        ingested_at=utc_now(),
        info=replace(
            extract_policy_info(doc.text, doc.title),
            collection=ing.collection,
            labels=tuple(sorted(set(ing.labels))),
            ocr_pages=tuple(p for p in doc.metadata.get(OCR_PAGES_KEY, "").split(",") if p),
        ),
    )
    return _Prepared(doc, record, chunks, "updated" if existing else "added")


def embed_texts(texts: list[str], ing: Ingestor) -> tuple[list[list[float]], int]:
    """Vectors for ``texts`` (from the cache when there is one) and how many were embedded."""

    def run(batch: list[str]) -> list[list[float]]:
        return ing.embedder.get_text_embedding_batch(batch)

    if ing.cache is None:
        return run(texts), len(texts)
    return ing.cache.embed(texts, run)


def _write_group(group: list[_Prepared], ing: Ingestor) -> tuple[list[FileOutcome], int]:
    texts = [indexed_text(c, p.doc.text) for p in group for c in p.chunks]
    vectors, embedded = embed_texts(texts, ing)
    versions: list[DocumentVersion] = []
    offset = 0
    for p in group:
        n = len(p.chunks)
        versions.append(
            DocumentVersion(
                record=p.record,
                text=p.doc.text,
                metadata={
                    **p.doc.metadata,
                    INGEST_TAG_KEY: ing.version_tag,
                    **p.record.info.to_metadata(),
                },
                chunks=p.chunks,
                vectors=vectors[offset : offset + n],
                tokens=[tokenize(t) for t in texts[offset : offset + n]],
            )
        )
        offset += n
    ing.store.put_documents(versions)
    outcomes = [
        FileOutcome(p.doc.source, p.status, doc_id=p.record.doc_id, chunks=len(p.chunks))
        for p in group
    ]
    return outcomes, embedded


def ingest_documents(
    items: Iterable[SourceDocument | FileOutcome],
    ing: Ingestor,
    on_progress: ProgressFn | None = None,
) -> IngestReport:
    """Index loaded documents (failed loads pass through as outcomes)."""
    return _index(items, ing, _Tracker(on_progress))


def _index(
    items: Iterable[SourceDocument | FileOutcome], ing: Ingestor, tracker: _Tracker
) -> IngestReport:
    started = time.perf_counter()
    outcomes: list[FileOutcome] = []
    embedded = 0
    group: list[_Prepared] = []

    def emit(done: Iterable[FileOutcome]) -> None:
        for outcome in done:
            outcomes.append(outcome)
            tracker.done(outcome)

    def flush() -> None:
        nonlocal embedded
        if group:
            done, n = _write_group(group, ing)
            embedded += n
            group.clear()
            emit(done)

    # One write batch: readers see the index before this run or after it, never half of it.
    with ing.store.write_batch():
        for item in items:
            prepared = item if isinstance(item, FileOutcome) else _prepare(item, ing)
            if isinstance(prepared, FileOutcome):
                emit([prepared])
                continue
            group.append(prepared)
            if sum(len(p.chunks) for p in group) >= _EMBED_GROUP:
                flush()
        flush()
    seconds = time.perf_counter() - started
    logger.info("ingest done files=%d embedded=%d seconds=%.1f", len(outcomes), embedded, seconds)
    return IngestReport(tuple(outcomes), seconds, embedded)


def ingest_paths(
    paths: Sequence[Path], ing: Ingestor, on_progress: ProgressFn | None = None
) -> IngestReport:
    """Ingest files and folders (walked recursively)."""
    tracker = _Tracker(on_progress)
    items = load_paths(
        paths,
        ing.max_file_bytes,
        ing.ocr_max_pages,
        tracker.page,
        skip=lambda path, digest: unchanged_file(path, digest, ing),
    )
    return _index(items, ing, tracker)


def remove_document(store: IndexStore, ref: str) -> DocumentRecord:
    """Remove a document by id or by path; raises ``DocumentNotFoundError``."""
    from index_store.errors import DocumentNotFoundError

    record = store.registry.by_id(ref)
    if record is None:
        record = store.registry.by_source(ref) or store.registry.by_source(
            str(Path(ref).expanduser().resolve())
        )
    if record is None:
        raise DocumentNotFoundError(
            f"no document {ref!r} in the index: `policyqa docs list` shows ids and paths"
        )
    store.remove_document(record.doc_id)
    return record
