"""The fusion grid re-ranks cached candidates; its rankings must be the retriever's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.answering.retrieval import HybridRetriever, RetrievalConfig, fuse
from eval.datasets import load_eval_set
from index_store.embedding.factory import make_embedder
from index_store.settings import Settings
from policyqa.evaluation import build_eval_index
from tests.eval.test_run import write_set
from tools.fusion_grid import GRID, candidates, run_grid


def test_grid_rankings_are_the_retrievers_and_every_row_is_scored(tmp_path: Path) -> None:
    folder = write_set(tmp_path / "demo-set")
    settings = Settings(_env_file=None, cache_dir=tmp_path / "cache")  # type: ignore[call-arg]
    eval_set = load_eval_set(folder)
    store = build_eval_index(eval_set, settings)
    rows = candidates(eval_set, store, settings)
    assert len(rows) == len(eval_set.queries)
    for name, config in (
        ("score w=0.5", RetrievalConfig(fusion="score", dense_weight=0.5)),
        ("score w=0.3", RetrievalConfig(fusion="score", dense_weight=0.3)),
        ("rrf k=60 1:1", RetrievalConfig(fusion="rrf", rrf_k=60)),
    ):
        retriever = HybridRetriever(store, make_embedder(settings), config)
        for row in rows:
            expected = [h.chunk.chunk_id for h in retriever.search(row.gold.q.question, 10)]
            ranked = [cid for cid, _ in fuse(GRID[name], row.dense, row.keyword)]
            assert ranked[:10] == expected, name
    store.close()
    grid = run_grid(folder, "all", settings)
    assert set(grid) == set(GRID)
    assert all(0 <= hit <= 1 and 0 <= mrr <= 1 for hit, mrr in grid.values())
    assert grid["score w=0.5"] == pytest.approx((1.0, 1.0))  # q1's span is the top passage
