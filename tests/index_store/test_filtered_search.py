"""Filtered search: the keyword index's filter mask against a brute-force oracle, and a dense
search under a broad filter (applied after an unfiltered Chroma query) against Chroma's own
filter on the same index."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from index_store.keyword import KeywordIndex
from index_store.store import DenseHit, IndexStore, chroma_where
from ingest.pipeline import Ingestor, ingest_paths
from tests.conftest import HashingEmbedding

WORDS = ["refund", "travel", "expense", "laptop", "badge", "parking", "leave", "salary", "visa"]


def test_filter_mask_matches_a_brute_force_oracle() -> None:
    rng = random.Random(3)
    docs = [f"d{i}" for i in range(30)]
    rows = [{"doc_id": rng.choice(docs), "source": f"s{rng.randrange(5)}"} for _ in range(400)]
    ids = [f"c{i}" for i in range(len(rows))]
    index = KeywordIndex(
        ids,
        [[rng.choice(WORDS)] for _ in rows],
        fields={name: [r[name] for r in rows] for name in ("doc_id", "source")},
    )
    cases: list[dict[str, list[str]]] = [
        {"doc_id": rng.sample(docs, 25)},
        {"doc_id": [*rng.sample(docs, 3), "not-a-doc"]},
        {"doc_id": []},
        {"doc_id": rng.sample(docs, 20), "source": ["s1", "s3"]},
    ]
    for filters in [*cases, cases[0]]:  # the first again: a cached mask is its own
        expected = [all(r[name] in allowed for name, allowed in filters.items()) for r in rows]
        assert index.mask(filters).tolist() == expected
        # Every 7th chunk, and one written after the index was built.
        assert index.allows([*ids[::7], "c-new"], index.mask(filters)) == [*expected[::7], False]
    with pytest.raises(KeyError):
        index.mask({"title": ["x"]})


@pytest.fixture
def library(tmp_path: Path, ingestor: Ingestor) -> IndexStore:
    folder = tmp_path / "docs"
    folder.mkdir()
    rng = random.Random(5)
    for i in range(40):
        text = " ".join(rng.choice(WORDS) for _ in range(12))
        (folder / f"policy-{i:02d}.txt").write_text(f"Policy {i}. {text}.", encoding="utf-8")
    assert not ingest_paths([folder], ingestor).failed
    return ingestor.store


def ranking(hits: list[DenseHit]) -> list[tuple[float, frozenset[str]]]:
    """Scores in order, with the chunks of each score (tied chunks come in either order; the
    last score's chunks are those that made the cut, so they are left out)."""
    scores = [round(h.score, 9) for h in hits]
    groups = {s: frozenset(h.chunk_id for h in hits if round(h.score, 9) == s) for s in scores}
    return [(s, groups[s] if s != scores[-1] else frozenset()) for s in scores]


@pytest.mark.parametrize(("allowed_docs", "k"), [(36, 5), (36, 30), (25, 10), (8, 5)])
def test_dense_search_under_a_filter_equals_chromas_filter(
    library: IndexStore,
    hashing_embedder: HashingEmbedding,
    monkeypatch: pytest.MonkeyPatch,
    allowed_docs: int,
    k: int,
) -> None:
    docs = sorted(r.doc_id for r in library.documents())
    filters = {"doc_id": random.Random(allowed_docs).sample(docs, allowed_docs)}
    wheres: list[Any] = []
    query = library._collection.query

    def spy(**kwargs: Any) -> Any:
        wheres.append(kwargs["where"])
        return query(**kwargs)

    monkeypatch.setattr(library._collection, "query", spy)
    for words in ("refund travel", "salary bonus visa", "parking"):
        vector = hashing_embedder.get_query_embedding(words)
        wheres.clear()
        ours = library.dense_search(vector, k, filters)
        chroma = library._dense_query(vector, k, chroma_where(filters))
        assert [h.rank for h in ours] == list(range(1, len(ours) + 1))
        assert ranking(ours) == ranking(chroma)
        assert len(ours) == min(k, allowed_docs)
        # A broad filter is applied after an unfiltered query; a narrow one by Chroma.
        assert (wheres[0] is None) == (allowed_docs / len(docs) >= 0.5)
