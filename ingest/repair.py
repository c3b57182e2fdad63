"""Rebuild an index's vectors from its registry (after Chroma damage, or a restore of the
registry alone). The registry holds every document's text, chunks and keyword tokens; vectors
come from the embedding cache, or the embedder for text the cache lacks."""

from __future__ import annotations

import logging

from index_store.store import DocumentVersion
from ingest.pipeline import Ingestor, embed_texts, indexed_text

logger = logging.getLogger(__name__)


def rebuild_vectors(ing: Ingestor) -> tuple[int, int]:
    """Write every registry document's chunks into the (fresh) Chroma collection, in one write
    batch. Returns (documents, chunks)."""
    registry = ing.store.registry
    documents = registry.documents()
    total = 0
    with ing.store.write_batch():
        for record in documents:
            chunks = registry.document_chunks(record.doc_id)
            text = registry.document_text(record.doc_id) or ""
            vectors, _ = embed_texts([indexed_text(c, text) for c in chunks], ing)
            ing.store.put_documents(
                [
                    DocumentVersion(
                        record=record,
                        text=text,
                        metadata=registry.document_metadata(record.doc_id),
                        chunks=chunks,
                        vectors=vectors,
                        tokens=registry.tokens_of(record.doc_id),
                    )
                ]
            )
            total += len(chunks)
    logger.info("vectors rebuilt documents=%d chunks=%d", len(documents), total)
    return len(documents), total
