"""The document registry: SQLite, the source of truth for what the index holds.

It records every document version (source key, content hash, text) and its chunks (offsets,
heading path, page, text and keyword tokens). Chroma holds the vectors; the keyword index is
rebuilt from here. A document's rows change in one transaction, so readers of the registry see a
document's old chunks or its new ones, never a mix.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index_store.policy import PolicyInfo
from index_store.records import Chunk, DocumentRecord
from index_store.structure import DocumentStructure

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    n_chunks INTEGER NOT NULL,
    n_chars INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'indexed',
    metadata TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    heading_path TEXT NOT NULL,
    page INTEGER,
    text TEXT NOT NULL,
    tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS structure (doc_id TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


@dataclass(frozen=True)
class KeywordRow:
    chunk_id: str
    doc_id: str
    source: str
    tokens: list[str]


class Registry:
    """Thin typed access to the registry database.

    Each thread gets its own SQLite connection (a connection must not be used by two threads
    at once); WAL mode lets readers proceed while the single writer commits.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        with self._conn:
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
            )
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")

    @property
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested calls (on the same thread) join the outer one, so a whole
        ingest run can commit at once."""
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        conn = self._conn
        self._local.depth = 1
        try:
            with conn:
                yield
        finally:
            self._local.depth = 0

    def all_chunk_ids(self) -> set[str]:
        return {str(r[0]) for r in self._conn.execute("SELECT chunk_id FROM chunks")}

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Bumped by every write; readers use it to notice that derived data is stale."""
        return int(self.get_meta("generation") or 0)

    def _bump(self) -> None:
        self._conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"
        )

    # -- documents ----------------------------------------------------------------------------

    def _record(self, row: tuple[Any, ...]) -> DocumentRecord:
        doc_id, source, title, kind, chash, n_chunks, n_chars, at, _status, meta = row
        return DocumentRecord(
            doc_id=str(doc_id),
            source=str(source),
            title=str(title),
            kind=str(kind),
            content_hash=str(chash),
            n_chunks=int(n_chunks),
            n_chars=int(n_chars),
            ingested_at=str(at),
            info=PolicyInfo.from_metadata(json.loads(meta)),
        )

    _DOC_COLS = (
        "doc_id, source, title, kind, content_hash, n_chunks, n_chars, ingested_at, status, "
        "metadata"
    )

    def by_source(self, source: str) -> DocumentRecord | None:
        row = self._conn.execute(
            f"SELECT {self._DOC_COLS} FROM documents WHERE source = ?", (source,)
        ).fetchone()
        return None if row is None else self._record(row)

    def by_id(self, doc_id: str) -> DocumentRecord | None:
        row = self._conn.execute(
            f"SELECT {self._DOC_COLS} FROM documents WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        return None if row is None else self._record(row)

    def documents(self) -> list[DocumentRecord]:
        rows = self._conn.execute(
            f"SELECT {self._DOC_COLS} FROM documents ORDER BY source"
        ).fetchall()
        return [self._record(r) for r in rows]

    def document_text(self, doc_id: str) -> str | None:
        row = self._conn.execute(
            "SELECT text FROM documents WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def document_structure(self, doc_id: str) -> DocumentStructure | None:
        """The document's entries and clause markers as parsed at ingest (parsed from its text
        when the index predates them or another version stored them); None for no document."""
        row = self._conn.execute(
            "SELECT data FROM structure WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        stored = DocumentStructure.from_json(str(row[0])) if row is not None else None
        if stored is not None:
            return stored
        text = self.document_text(doc_id)
        return None if text is None else DocumentStructure.parse(text)

    def document_metadata(self, doc_id: str) -> dict[str, str]:
        row = self._conn.execute(
            "SELECT metadata FROM documents WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        return {} if row is None else dict(json.loads(row[0]))

    def tokens_of(self, doc_id: str) -> list[list[str]]:
        """Keyword tokens of a document's chunks, in chunk order."""
        rows = self._conn.execute(
            "SELECT tokens FROM chunks WHERE doc_id = ? ORDER BY ordinal", (doc_id,)
        ).fetchall()
        return [str(r[0]).split() for r in rows]

    def chunk_ids_of(self, doc_id: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT chunk_id FROM chunks WHERE doc_id = ? ORDER BY ordinal", (doc_id,)
        ).fetchall()
        return [str(r[0]) for r in rows]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in reading order."""
        ids = self.chunk_ids_of(doc_id)  # by ordinal
        found = self.chunks(ids)
        return [found[i] for i in ids]

    def count_chunks(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def put_document(
        self,
        record: DocumentRecord,
        text: str,
        metadata: dict[str, str],
        chunks: Sequence[Chunk],
        tokens: Sequence[Sequence[str]],
    ) -> list[str]:
        """Store a document version, replacing any version under the same source key.

        Returns the chunk ids of the replaced version (to delete from the vector store).
        """
        structure = DocumentStructure.parse(text).to_json()  # parsed before the write lock
        with self.transaction():
            old = self._conn.execute(
                "SELECT doc_id FROM documents WHERE source = ? AND doc_id != ?",
                (record.source, record.doc_id),
            ).fetchall()
            old_ids = [str(r[0]) for r in old]
            stale: list[str] = []
            for doc_id in old_ids:
                stale.extend(self.chunk_ids_of(doc_id))
                self._delete(doc_id)
            self._conn.execute("DELETE FROM chunks WHERE doc_id = ?", (record.doc_id,))
            self._conn.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.doc_id,
                    record.source,
                    record.title,
                    record.kind,
                    record.content_hash,
                    record.n_chunks,
                    record.n_chars,
                    record.ingested_at,
                    record.status,
                    json.dumps(metadata, ensure_ascii=False),
                    text,
                ),
            )
            self._conn.execute(
                "INSERT OR REPLACE INTO structure VALUES (?, ?)",
                (record.doc_id, structure),
            )
            self._conn.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        c.chunk_id,
                        c.doc_id,
                        c.ordinal,
                        c.start,
                        c.end,
                        json.dumps(list(c.heading_path), ensure_ascii=False),
                        c.page,
                        c.text,
                        " ".join(t),
                    )
                    for c, t in zip(chunks, tokens, strict=True)
                ],
            )
            self._bump()
        return stale

    def remove_document(self, doc_id: str) -> list[str]:
        """Delete a document and its chunks; returns the chunk ids that were removed."""
        with self.transaction():
            ids = self.chunk_ids_of(doc_id)
            self._delete(doc_id)
            self._bump()
        return ids

    def _delete(self, doc_id: str) -> None:
        for table in ("chunks", "structure", "documents"):
            self._conn.execute(f"DELETE FROM {table} WHERE doc_id = ?", (doc_id,))

    # -- chunks -------------------------------------------------------------------------------

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """The chunks with these ids that the registry holds (unknown ids are left out)."""
        found: dict[str, Chunk] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._conn.execute(
                'SELECT c.chunk_id, c.doc_id, c.ordinal, c.text, c.start, c."end", '
                "c.heading_path, c.page, d.source, d.title FROM chunks c "
                f"JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN ({marks})",
                part,
            ).fetchall()
            for r in rows:
                found[str(r[0])] = Chunk(
                    chunk_id=str(r[0]),
                    doc_id=str(r[1]),
                    ordinal=int(r[2]),
                    text=str(r[3]),
                    start=int(r[4]),
                    end=int(r[5]),
                    heading_path=tuple(json.loads(r[6])),
                    page=None if r[7] is None else int(r[7]),
                    source=str(r[8]),
                    title=str(r[9]),
                )
        return found

    def keyword_rows(self) -> Iterator[KeywordRow]:
        cursor = self._conn.execute(
            "SELECT c.chunk_id, c.doc_id, d.source, c.tokens FROM chunks c "
            "JOIN documents d ON d.doc_id = c.doc_id ORDER BY c.rowid"
        )
        for chunk_id, doc_id, source, tokens in cursor:
            yield KeywordRow(str(chunk_id), str(doc_id), str(source), str(tokens).split())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
