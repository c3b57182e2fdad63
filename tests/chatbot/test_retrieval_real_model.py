"""Hybrid retrieval over the demo corpus with the real bundled models."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.answering.retrieval import HybridRetriever, RetrievalConfig
from index_store.embedding.factory import (
    SentenceTransformerEmbedding,
    bundled_minilm_path,
    embedder_key,
    make_embedder,
)
from index_store.errors import ConfigError
from index_store.open_index import open_store
from index_store.settings import Settings
from index_store.store import IndexStore
from ingest.chunking import ChunkingConfig
from ingest.pipeline import Ingestor, ingest_paths
from tests.files import DEMO_DIR

# The real model, real processes or real files: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow

# (question, text of the answering passage, the rank it must reach at worst)
QUESTIONS = [
    ("稳岗返还的比例是多少？", "实际缴纳失业保险费的60%", 1),
    ("首次认定为高新技术企业能拿到多少奖励？", "一次性给予30万元奖励", 1),
    ("纾困措施每年什么时候申报？", "3月1日至4月30日", 1),
    ("贷款贴息单户每年最多多少？", "不超过100万元", 1),
    (
        "How long do I have to return an unused item for a full refund?",
        "within 30 days of delivery",
        1,
    ),
    # The three severity clauses differ by one digit; today the severity 2 clause can edge ahead.
    (
        "What is the first response time for a severity 1 incident on the Premium plan?",
        "within 1 hour for Premium",
        2,
    ),
    ("Is an e-book refundable after I download it?", "non-refundable once downloaded", 1),
]


@pytest.mark.parametrize(("question", "expected", "worst_rank"), QUESTIONS)
def test_hybrid_returns_the_answering_passage_on_top(
    demo_store: tuple[IndexStore, Settings], question: str, expected: str, worst_rank: int
) -> None:
    store, settings = demo_store
    retriever = HybridRetriever(store, make_embedder(settings), RetrievalConfig(top_k=3))
    hits = retriever.search(question)
    ranks = [i for i, h in enumerate(hits, 1) if expected in h.chunk.text]
    assert ranks and ranks[0] <= worst_rank, [h.chunk.text[:60] for h in hits]
    best = hits[ranks[0] - 1].chunk
    assert best.heading_path[0] == best.title
    assert best.text == (store.registry.document_text(best.doc_id) or "")[best.start : best.end]


def test_bundled_e5_understands_chinese_without_keywords(
    demo_store: tuple[IndexStore, Settings],
) -> None:
    # Dense only, and no word shared with the answer's key phrase: the model must carry it.
    store, settings = demo_store
    dense_only = HybridRetriever(
        store, make_embedder(settings), RetrievalConfig(top_k=3, dense_weight=1.0)
    )
    hits = dense_only.search("公司没有裁员，能退回一部分失业保险吗？")
    assert any("稳岗返还" in " ".join(h.chunk.heading_path) for h in hits[:2])


def test_llama_index_retriever_interface(demo_store: tuple[IndexStore, Settings]) -> None:
    store, settings = demo_store
    retriever = HybridRetriever(store, make_embedder(settings), RetrievalConfig(top_k=2))
    nodes = retriever.retrieve("高新技术企业奖励的申请条件")
    assert len(nodes) == 2
    assert nodes[0].score is not None and nodes[0].score >= nodes[1].score  # type: ignore[operator]
    assert "高新技术企业" in nodes[0].node.metadata["title"]


def test_filters_restrict_both_retrievers(demo_store: tuple[IndexStore, Settings]) -> None:
    store, settings = demo_store
    retriever = HybridRetriever(store, make_embedder(settings), RetrievalConfig(top_k=5))
    sla = next(d for d in store.documents() if d.source.endswith("support-sla.md"))
    hits = retriever.search("refund within 30 days", filters={"source": [sla.source]})
    assert hits and {h.chunk.source for h in hits} == {sla.source}


def test_an_earlier_answer_finds_the_passages_it_quotes_without_the_model(
    demo_store: tuple[IndexStore, Settings],
) -> None:
    store, settings = demo_store

    class NoModel:  # the quote search must not embed the answer
        def get_query_embedding(self, text: str) -> list[float]:
            raise AssertionError("the quote search embedded the answer")

    retriever = HybridRetriever(store, NoModel(), RetrievalConfig(top_k=3))  # type: ignore[arg-type]
    passage = next(
        h.chunk
        for h in HybridRetriever(store, make_embedder(settings), RetrievalConfig(top_k=1)).search(
            "稳岗返还的比例是多少？"
        )
    )
    shown = f"根据现有政策文件：\n{passage.text.strip()}[1]"
    hits = retriever.search_quotes(shown)
    assert hits[0].chunk.chunk_id == passage.chunk_id
    assert hits[0].score == 1.0 and all(h.score <= 1.0 for h in hits)
    sla = next(d for d in store.documents() if d.source.endswith("support-sla.md"))
    assert {
        h.chunk.source for h in retriever.search_quotes(shown, filters={"source": [sla.source]})
    } <= {sla.source}


def test_sentence_transformers_path_with_bundled_minilm(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        index_dir=tmp_path / "i",
        cache_dir=tmp_path / "c",
        embedder="sentence-transformers",
        embed_model=bundled_minilm_path(),
    )
    embedder = make_embedder(settings)
    assert isinstance(embedder, SentenceTransformerEmbedding)
    store = open_store(settings, embedder_key(settings), create=True)
    ingest_paths(
        [DEMO_DIR / "refund-policy.md", DEMO_DIR / "support-sla.md"],
        Ingestor(store, embedder, ChunkingConfig(300, 50, 60), 1 << 20),
    )
    dense_only = HybridRetriever(store, embedder, RetrievalConfig(top_k=2, dense_weight=1.0))
    hits = dense_only.search("Which damage does the guarantee on electronic devices exclude?")
    assert "2-year limited warranty" in hits[0].chunk.text


def test_unknown_sentence_transformers_model_fails_offline_with_a_hint(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, embedder="sentence-transformers", embed_model="no-such-org/no-such-model"
    )
    with pytest.raises(ConfigError, match="POLICYQA_ALLOW_MODEL_DOWNLOAD"):
        make_embedder(settings)
