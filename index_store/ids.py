"""Content-derived ids: the same input always yields the same id, so every write is idempotent."""

from __future__ import annotations

import hashlib
from pathlib import Path


def content_hash(text: str) -> str:
    """Full SHA-256 of the text, the registry's change detector."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes: an unchanged file is known without reading it as text."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def document_id(source: str, text_hash: str) -> str:
    """Id of one version of one document.

    It derives from the source key *and* the content, so an edited file gets a new id (its old
    chunks are replaced, never mixed) and two files with the same text stay distinct documents.
    """
    return hashlib.sha256(f"{source}\0{text_hash}".encode()).hexdigest()[:20]


def chunk_id(doc_id: str, ordinal: int) -> str:
    """Id of the ``ordinal``-th chunk of a document version."""
    return f"{doc_id}-{ordinal:05d}"
