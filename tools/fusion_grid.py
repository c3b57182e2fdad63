"""Fusion grid: how dense and BM25 candidates are merged, measured without re-running retrieval.

Each question's 50 dense and 50 BM25 candidates are computed once; every fusion in the grid then
only re-ranks them, so a whole grid costs about one eval run. Retrieval metrics only (no answers).

    python -m tools.fusion_grid ../shared/eval-data/ncp-policy-qa --split dev
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chatbot.answering.retrieval import RetrievalConfig, fuse
from eval.datasets import EvalSet, load_eval_set
from eval.metrics import first_hit_rank, unique_in_order
from eval.run import _Gold
from index_store.embedding.factory import make_embedder
from index_store.records import Chunk
from index_store.settings import Settings, get_settings
from index_store.store import IndexStore
from index_store.text import normalize_text
from policyqa.evaluation import build_eval_index, read_page

CANDIDATES = 50


@dataclass(frozen=True)
class Candidates:
    gold: _Gold
    dense: list[tuple[str, float]]
    keyword: list[tuple[str, float]]


GRID: dict[str, RetrievalConfig] = {
    "dense only": RetrievalConfig(dense_weight=1.0),
    "bm25 only": RetrievalConfig(dense_weight=0.0),
    "rrf k=60 1:1": RetrievalConfig(fusion="rrf", rrf_k=60),
    "rrf k=10 1:1": RetrievalConfig(fusion="rrf", rrf_k=10),
    "rrf k=10 1:3": RetrievalConfig(fusion="rrf", rrf_k=10, rrf_keyword_weight=3.0),
    **{f"score w={w}": RetrievalConfig(dense_weight=w) for w in (0.3, 0.4, 0.5, 0.6, 0.7)},
    **{f"minmax w={w}": RetrievalConfig(fusion="minmax", dense_weight=w) for w in (0.4, 0.5, 0.6)},
}


def measure(
    rows: Sequence[Candidates], chunks: dict[str, Chunk], config: RetrievalConfig
) -> tuple[float, float]:
    """(hit@5, MRR@10): passages where the set has passage gold, else documents."""
    hits = reciprocal = 0.0
    for row in rows:
        ranked = [chunks[c] for c, _ in fuse(config, row.dense, row.keyword) if c in chunks]
        if row.gold.passage_level:
            found = [row.gold.passage_ok(c) for c in ranked[:10]]
        else:
            docs = unique_in_order([c.source for c in ranked])[:10]
            found = [d in row.gold.q.gold_doc_ids for d in docs]
        rank = first_hit_rank(found)
        hits += rank is not None and rank <= 5
        reciprocal += 1 / rank if rank else 0.0
    return hits / len(rows), reciprocal / len(rows)


def candidates(eval_set: EvalSet, store: IndexStore, settings: Settings) -> list[Candidates]:
    """Every answerable question's dense and BM25 candidates, as the retriever gets them."""
    embedder = make_embedder(settings)
    texts = {d.doc_id: normalize_text(d.text) for d in eval_set.documents}
    rows: list[Candidates] = []
    for q in eval_set.queries:
        if q.should_refuse:
            continue
        filters = {"source": list(q.scope)} if q.scope else None
        vector = embedder.get_query_embedding(q.question)
        dense = store.dense_search(vector, CANDIDATES, filters)
        keyword = store.keyword_search(q.question, CANDIDATES, filters)
        rows.append(
            Candidates(
                _Gold(q, texts),
                [(h.chunk_id, h.score) for h in dense],
                [(h.chunk_id, h.score) for h in keyword],
            )
        )
    return rows


def run_grid(folder: Path, split: str, settings: Settings) -> dict[str, tuple[float, float]]:
    eval_set = load_eval_set(folder, read_page).split(split)  # type: ignore[arg-type]
    store = build_eval_index(eval_set, settings)
    rows = candidates(eval_set, store, settings)
    ids = {c for r in rows for c, _ in r.dense + r.keyword}
    chunks = store.chunks(list(ids))
    store.close()
    return {name: measure(rows, chunks, config) for name, config in GRID.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", default="dev", choices=["all", "dev", "test"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = run_grid(args.folder, args.split, get_settings())
    print(f"{args.folder.name} ({args.split})  hit@5  MRR@10")
    for name, (hit, mrr) in results.items():
        print(f"  {name:14s} {hit:.3f}  {mrr:.3f}")


if __name__ == "__main__":
    main()
