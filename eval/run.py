"""Run an eval set through the real pipeline: ingest into a cached index, retrieve, score."""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chatbot.retrieval import HybridRetriever, RetrievalConfig
from eval.datasets import EvalSet
from eval.metrics import (
    first_hit_rank,
    hit_at,
    locate_span,
    mean,
    reciprocal_rank,
    spans_overlap,
    unique_in_order,
)
from index_store.embed_cache import EmbeddingCache
from index_store.embeddings import embedder_key, make_embedder
from index_store.keyword import TOKENIZER_VERSION
from index_store.records import SourceDocument
from index_store.settings import Settings
from index_store.store import IndexStore, open_store
from ingest.chunking import ChunkingConfig
from ingest.pipeline import CHUNKER_VERSION, Ingestor, ingest_documents
from ingest.textdecode import normalize_text

logger = logging.getLogger(__name__)

K_VALUES = (1, 3, 5, 10)


@dataclass(frozen=True)
class QueryResult:
    qid: str
    question: str
    gold_doc_ids: tuple[str, ...]
    retrieved_doc_ids: tuple[str, ...]
    doc_rank: int | None
    passage_rank: int | None
    latency_ms: float


@dataclass(frozen=True)
class EvalReport:
    dataset: str
    n: int
    config: dict[str, object]
    metrics: dict[str, float]
    per_question: list[QueryResult] = field(default_factory=list)


def restrict_corpus(eval_set: EvalSet, max_docs: int | None, seed: int) -> EvalSet:
    """Keep every gold document of the (sampled) queries plus random others up to
    ``max_docs``: a smaller but still distracting corpus for quick runs."""
    if max_docs is None or max_docs >= len(eval_set.documents):
        return eval_set
    gold = {g for q in eval_set.queries for g in q.gold_doc_ids}
    others = [d for d in eval_set.documents if d.doc_id not in gold]
    rng = random.Random(seed)
    extra = rng.sample(others, max(0, min(len(others), max_docs - len(gold))))
    keep = gold | {d.doc_id for d in extra}
    docs = tuple(d for d in eval_set.documents if d.doc_id in keep)
    tag = hashlib.sha256("\n".join(sorted(keep)).encode()).hexdigest()[:8]
    return EvalSet(eval_set.name, docs, eval_set.queries, f"{eval_set.fingerprint}-{tag}")


def _index_dir(eval_set: EvalSet, settings: Settings, chunking: ChunkingConfig) -> Path:
    key = f"{embedder_key(settings)}|{chunking}|{CHUNKER_VERSION}.{TOKENIZER_VERSION}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return settings.cache_dir / "eval" / f"{eval_set.name}-{eval_set.fingerprint}-{digest}"


def build_index(
    eval_set: EvalSet, settings: Settings, on_progress: Callable[[int], None] | None = None
) -> IndexStore:
    """The set's corpus ingested with the real pipeline into an index cached by corpus
    content; a second run re-uses it (every document is 'unchanged')."""
    chunking = ChunkingConfig(settings.chunk_size, settings.chunk_overlap, settings.min_chunk_chars)
    directory = _index_dir(eval_set, settings, chunking)
    # Eval indexes are always embedded Chroma: they are private, derived data.
    local = settings.model_copy(update={"chroma_url": ""})
    store = open_store(local, embedder_key(settings), create=True, index_dir=directory)
    ingestor = Ingestor(
        store=store,
        embedder=make_embedder(settings),
        chunking=chunking,
        max_file_bytes=1 << 62,
        cache=EmbeddingCache(settings.cache_dir / "embeddings.sqlite", embedder_key(settings)),
    )
    docs = (
        SourceDocument(source=d.doc_id, text=normalize_text(d.text), title=d.title, kind="eval")
        for d in eval_set.documents
    )
    done = 0

    def progress(_: object) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done)

    report = ingest_documents(docs, ingestor, progress)
    logger.info(
        "eval index ready dir=%s added=%d unchanged=%d embedded=%d seconds=%.1f",
        directory,
        len(report.by_status("added")),
        len(report.by_status("unchanged")),
        report.embedded_chunks,
        report.seconds,
    )
    return store


def run_retrieval(
    eval_set: EvalSet, store: IndexStore, retriever: HybridRetriever, depth: int = 10
) -> EvalReport:
    """Score doc-level and (where answer spans exist) passage-level retrieval."""
    texts = {d.doc_id: normalize_text(d.text) for d in eval_set.documents}
    results: list[QueryResult] = []
    has_spans = any(q.answer and q.answer_start is not None for q in eval_set.queries)
    for q in eval_set.queries:
        started = time.perf_counter()
        hits = retriever.search(q.question, top_k=depth)
        latency = (time.perf_counter() - started) * 1000
        sources = [h.chunk.source for h in hits]
        docs = unique_in_order(sources)
        doc_rank = first_hit_rank([d in q.gold_doc_ids for d in docs])
        passage_rank = None
        if has_spans and q.answer and q.gold_doc_ids:
            gold_doc = q.gold_doc_ids[0]
            span = locate_span(texts.get(gold_doc, ""), q.answer, q.answer_start)
            if span is not None:
                passage_rank = first_hit_rank(
                    [
                        h.chunk.source == gold_doc
                        and spans_overlap(h.chunk.start, h.chunk.end, *span)
                        for h in hits
                    ]
                )
        results.append(
            QueryResult(
                q.qid, q.question, q.gold_doc_ids, tuple(docs), doc_rank, passage_rank, latency
            )
        )
    metrics: dict[str, float] = {}
    for k in K_VALUES:
        metrics[f"doc_hit@{k}"] = mean([hit_at(r.doc_rank, k) for r in results])
    metrics["doc_mrr@10"] = mean([reciprocal_rank(r.doc_rank, 10) for r in results])
    if has_spans:
        for k in K_VALUES:
            metrics[f"passage_hit@{k}"] = mean([hit_at(r.passage_rank, k) for r in results])
        metrics["passage_mrr@10"] = mean([reciprocal_rank(r.passage_rank, 10) for r in results])
    latencies = sorted(r.latency_ms for r in results)
    if latencies:
        metrics["latency_p50_ms"] = latencies[len(latencies) // 2]
        metrics["latency_p95_ms"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    config: dict[str, object] = {
        "embedder": embedder_key_of(retriever),
        "corpus_docs": len(eval_set.documents),
        "chunks": store.registry.count_chunks(),
        "top_k_depth": depth,
        "retrieval": asdict(retriever.config),
    }
    return EvalReport(eval_set.name, len(results), config, metrics, results)


def embedder_key_of(retriever: HybridRetriever) -> str:
    return str(retriever.embedder.model_name)


def make_retriever(store: IndexStore, settings: Settings) -> HybridRetriever:
    return HybridRetriever(store, make_embedder(settings), RetrievalConfig.from_settings(settings))
