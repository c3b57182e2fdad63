"""The index: a Chroma collection (vectors) + the registry (truth) + the keyword index (derived).

``index_store.open_index.open_store`` is the one factory (embedded ``PersistentClient`` by
default, ``HttpClient`` when ``POLICYQA_CHROMA_URL`` is set). In server mode, readers (app
replicas) need no registry: they read chunk records from Chroma through a
:class:`~index_store.chunk_source.ChromaCatalog`; only the ingest writer keeps a registry.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.schema import (
    BaseNode,
    MetadataMode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.utils import node_to_metadata_dict

from index_store.chunk_source import (
    EMBEDDER_KEY,
    Catalog,
    bump_generation,
    chunk_metadata,
    collection_generation,
    collection_pages,
)
from index_store.errors import ConfigError
from index_store.keyword import KeywordHit, KeywordIndex
from index_store.locking import index_write_lock
from index_store.records import Chunk, DocumentRecord
from index_store.registry import Registry
from index_store.structure import DocumentStructure

logger = logging.getLogger(__name__)

REGISTRY_FILE = "registry.sqlite"
CHROMA_DIR = "chroma"
# Fields a search may be restricted by; both retrievers can filter on them.
FILTER_FIELDS = ("doc_id", "source")
# A filter allowing this share of the chunks is applied after an unfiltered Chroma query.
POST_FILTER_MIN_SHARE = 0.5
Filters = dict[str, list[str]]


@dataclass(frozen=True)
class DocumentVersion:
    """Everything one write of one document needs."""

    record: DocumentRecord
    text: str
    metadata: dict[str, str]
    chunks: Sequence[Chunk]
    vectors: Sequence[Sequence[float]]
    tokens: Sequence[Sequence[str]]


@dataclass
class _Batch:
    generation: int  # what the collection's generation becomes when the batch commits
    stale: list[str] = field(default_factory=list)
    changed: bool = False


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    score: float
    rank: int


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    """Search filters as a Chroma ``where`` clause; unknown fields are a ConfigError."""
    if not filters:
        return None
    unknown = set(filters) - set(FILTER_FIELDS)
    if unknown:
        raise ConfigError(f"cannot filter on {sorted(unknown)}: use one of {FILTER_FIELDS}")
    clauses: list[dict[str, Any]] = [
        {name: {"$in": list(values)}} for name, values in filters.items()
    ]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class IndexStore:
    """Reads and writes one index. Thread-safe for readers; one writer at a time."""

    def __init__(
        self,
        index_dir: Path,
        embedder_key: str,
        collection: Any,
        *,
        registry: Registry | None,
        catalog: Catalog | None = None,
        reopen: Callable[[], Any] | None = None,
    ) -> None:
        """``registry`` is None for a server-mode reader; ``catalog`` defaults to the registry.
        ``reopen`` (embedded Chroma) opens the collection anew from disk: another process's
        committed writes are not in this process's open copy until then."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.index_dir = index_dir
        self.embedder_key = embedder_key
        self._registry = registry
        built_with = [(collection.metadata or {}).get(EMBEDDER_KEY)]
        if registry is not None:
            built_with.append(registry.get_meta("embedder"))
            if built_with[-1] is None:
                registry.set_meta("embedder", embedder_key)
        for key in built_with:
            if key is not None and key != embedder_key:
                raise ConfigError(
                    f"the index at {index_dir} was built with embedder {key!r}, but the "
                    f"settings choose {embedder_key!r}: change POLICYQA_EMBEDDER/"
                    "POLICYQA_EMBED_MODEL back, or ingest into a new POLICYQA_INDEX_DIR"
                )
        catalog = catalog if catalog is not None else registry
        if catalog is None:
            raise ConfigError("an index needs a registry or a catalog to read chunk records from")
        self._catalog: Catalog = catalog
        self._collection = collection
        self.vector_store = ChromaVectorStore(chroma_collection=collection)
        self._batch: _Batch | None = None
        self._keyword: KeywordIndex | None = None
        self._keyword_generation = -1
        self._lock = threading.Lock()
        self._reopen = reopen
        self._dense_generation = catalog.generation
        # Searches in flight on the open collection: a reopen waits for them (it closes it).
        self._searching = 0
        self._idle = threading.Condition()

    @property
    def registry(self) -> Registry:
        """The writer's registry; server-mode readers have none."""
        if self._registry is None:
            raise ConfigError(
                "this process reads a Chroma server index and has no registry: run writes "
                "(`policyqa ingest`, `policyqa docs remove`) where the index was built"
            )
        return self._registry

    # -- writes -------------------------------------------------------------------------------

    @contextmanager
    def write_batch(self) -> Iterator[None]:
        """Writes inside become visible to readers at once, under the index's write lock.

        Order (crash safety): vectors are added to Chroma as documents arrive (invisible: no
        registry row names them); the registry rows of the whole batch commit in one SQLite
        transaction; then replaced vectors are deleted and replicas are told. A batch killed
        before its commit leaves only unnamed vectors, removed by :meth:`reconcile` when the
        next writer starts (the registry's ``dirty`` flag says one is needed).
        """
        if self._batch is not None:  # nested: join the outer batch
            yield
            return
        with self.write_lock():
            if self.registry.get_meta("dirty") == "1":
                self.reconcile()
            self.registry.set_meta("dirty", "1")
            self._batch = _Batch(collection_generation(self._collection) + 1)
            try:
                with self.registry.transaction():
                    yield
                stale = self._batch.stale
                if stale:
                    self.vector_store.delete_nodes(node_ids=stale)
                if self._batch.changed:
                    bump_generation(self._collection, self.embedder_key)
                self.registry.set_meta("dirty", "0")
                self._dense_generation = self._catalog.generation  # our own writes: seen
            finally:
                self._batch = None

    def write_lock(self) -> AbstractContextManager[None]:
        """The index's single-writer lock (ingest, removal, backup); fails within a second."""
        return index_write_lock(self.index_dir)

    def reconcile(self) -> tuple[int, int]:
        """Make Chroma and the registry agree after an interrupted write: vectors no registry
        row names are deleted; documents with vectors missing are dropped from the registry so
        the next ingest adds them again. Returns (vectors deleted, documents dropped)."""
        known = self.registry.all_chunk_ids()
        stored = {cid for page in collection_pages(self._collection, []) for cid in page["ids"]}
        orphans = sorted(stored - known)
        if orphans:
            self._collection.delete(ids=orphans)
        missing = known - stored
        dropped = {c.doc_id for c in self.registry.chunks(sorted(missing)).values()}
        for doc_id in dropped:
            self.registry.remove_document(doc_id)
        logger.warning(
            "reconciled index dir=%s orphan_vectors=%d documents_dropped=%d",
            self.index_dir,
            len(orphans),
            len(dropped),
        )
        return len(orphans), len(dropped)

    def put_documents(self, versions: Sequence[DocumentVersion]) -> None:
        """Add document versions and retire the versions they replace (inside a write batch:
        visible when the batch commits)."""
        with self.write_batch():
            assert self._batch is not None
            generation = self._batch.generation
            nodes: list[BaseNode] = [
                _to_node(c, vec, v.record, tokens, generation)
                for v in versions
                for c, vec, tokens in zip(v.chunks, v.vectors, v.tokens, strict=True)
            ]
            if nodes:
                # upsert, not add: Chroma silently ignores ``add`` of an id it already holds.
                self._collection.upsert(
                    ids=[n.node_id for n in nodes],
                    embeddings=[n.get_embedding() for n in nodes],
                    metadatas=[_chroma_metadata(n) for n in nodes],
                    documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes],
                )
            for v in versions:
                replaced = self.registry.put_document(
                    v.record, v.text, v.metadata, v.chunks, v.tokens
                )
                current = {c.chunk_id for c in v.chunks}
                self._batch.stale.extend(cid for cid in replaced if cid not in current)
                self._batch.changed = True

    def remove_document(self, doc_id: str) -> int:
        with self.write_batch():
            assert self._batch is not None
            ids = self.registry.remove_document(doc_id)
            self._batch.stale.extend(ids)
            self._batch.changed = self._batch.changed or bool(ids)
        return len(ids)

    # -- reads --------------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Moves with every committed write; readers key derived data on it."""
        return self._catalog.generation

    def documents(self) -> list[DocumentRecord]:
        return self._catalog.documents()

    def document_text(self, doc_id: str) -> str | None:
        return self._catalog.document_text(doc_id)

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return self._catalog.document_chunks(doc_id)

    def document_structure(self, doc_id: str) -> DocumentStructure | None:
        return self._catalog.document_structure(doc_id)

    def count_vectors(self) -> int:
        return int(self._collection.count())

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        return self._catalog.chunks(chunk_ids)

    def dense_search(
        self, query_vector: Sequence[float], k: int, filters: Filters | None = None
    ) -> list[DenseHit]:
        """Nearest chunks by cosine, ids and distances only (fetching the candidates' texts
        from Chroma cost most of a query). A filter that allows most chunks (the policies in
        force) is applied to an unfiltered search for enough more candidates, which is far
        faster than Chroma's own filter over many allowed documents and gives the same result
        as long as ``k`` allowed chunks are among them; otherwise Chroma filters."""
        where = chroma_where(filters)
        if filters:
            index = self.keyword_index()
            mask = index.mask(filters)
            share = float(mask.mean()) if len(mask) else 0.0
            if share >= POST_FILTER_MIN_SHARE:
                n = min(math.ceil(k / share) + k, len(mask))
                hits = self._dense_query(query_vector, n, None)
                allowed = index.allows([h.chunk_id for h in hits], mask)
                kept = [h for h, ok in zip(hits, allowed, strict=True) if ok]
                if len(kept) >= k or len(hits) < n:
                    return [DenseHit(h.chunk_id, h.score, i) for i, h in enumerate(kept[:k], 1)]
        return self._dense_query(query_vector, k, where)

    def _refresh_collection(self) -> None:
        """Open the collection anew when another process has committed a write since it was
        opened (one registry read per search decides), so a running server sees a new ingest
        or removal without a restart. The registry names what exists, so a write in progress
        is never half visible."""
        if self._reopen is None or self._batch is not None:
            return
        generation = self._catalog.generation
        if generation == self._dense_generation:
            return
        from llama_index.vector_stores.chroma import ChromaVectorStore

        with self._idle:
            self._idle.wait_for(lambda: self._searching == 0)
            if generation != self._dense_generation:
                self._collection = self._reopen()
                self.vector_store = ChromaVectorStore(chroma_collection=self._collection)
                self._dense_generation = generation
                logger.info("collection reopened generation=%d", generation)

    def _dense_query(
        self, query_vector: Sequence[float], k: int, where: dict[str, Any] | None
    ) -> list[DenseHit]:
        self._refresh_collection()
        with self._idle:
            self._searching += 1
            collection = self._collection
        try:
            result = collection.query(
                query_embeddings=[list(query_vector)],
                n_results=k,
                where=where,
                include=["distances"],
            )
        finally:
            with self._idle:
                self._searching -= 1
                self._idle.notify_all()
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        # Equal distances (a notice reprinted word for word) come back in an order that varies
        # by process: ties go by chunk id. Scores are exp(-distance), as llama-index reports
        # them: the refusal thresholds (POLICYQA_REFUSAL_*_MIN_DENSE) are on that scale.
        ranked = sorted(zip(ids, distances, strict=True), key=lambda pair: (pair[1], pair[0]))
        return [DenseHit(cid, math.exp(-float(d)), rank) for rank, (cid, d) in enumerate(ranked, 1)]

    def keyword_search(
        self, question: str, k: int, filters: Filters | None = None
    ) -> list[KeywordHit]:
        chroma_where(filters)  # same validation as the dense side
        return self.keyword_index().search(question, k, filters)

    def keyword_index(self) -> KeywordIndex:
        """The BM25 index, rebuilt from the catalog when another write has happened."""
        generation = self._catalog.generation
        with self._lock:
            if self._keyword is None or generation != self._keyword_generation:
                ids: list[str] = []
                fields: dict[str, list[str]] = {"doc_id": [], "source": []}

                def tokens() -> Iterator[list[str]]:  # one streaming pass over the catalog
                    for r in self._catalog.keyword_rows():
                        ids.append(r.chunk_id)
                        fields["doc_id"].append(r.doc_id)
                        fields["source"].append(r.source)
                        yield r.tokens

                self._keyword = KeywordIndex(ids, tokens(), fields=dict(fields))
                self._keyword_generation = generation
                logger.info("keyword index built chunks=%d generation=%d", len(ids), generation)
            return self._keyword

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()


def _to_node(
    chunk: Chunk,
    vector: Sequence[float],
    record: DocumentRecord,
    tokens: Sequence[str],
    generation: int,
) -> TextNode:
    node = TextNode(
        id_=chunk.chunk_id,
        text=chunk.text,
        embedding=list(vector),
        start_char_idx=chunk.start,
        end_char_idx=chunk.end,
        metadata=chunk_metadata(chunk, record, tokens, generation),
    )
    # The SOURCE relationship becomes Chroma's ``document_id`` field (llama-index convention).
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=chunk.doc_id)
    return node


def _chroma_metadata(node: BaseNode) -> dict[str, Any]:
    """The node's metadata and llama-index's id fields, without its ``_node_content``: a JSON
    copy of all the metadata (the keyword tokens included) that PolicyQA never reads. It was
    about 40 % of the collection on disk and a third of each write's time. llama-index's
    ``ChromaVectorStore`` reads such records too (its path for nodes stored without it), and
    the ``relationships`` field keeps the passage's document there."""
    metadata = node_to_metadata_dict(node, remove_text=True, flat_metadata=False)
    del metadata["_node_content"]
    metadata["relationships"] = json.dumps({NodeRelationship.SOURCE.value: node.ref_doc_id})
    return metadata
