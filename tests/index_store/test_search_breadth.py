"""POLICYQA_HNSW_EF_SEARCH reaches Chroma's HNSW graph, for a new index and for an existing one,
and a broad search finds the exact nearest passages that a narrow one misses."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from index_store.open_index import open_store
from index_store.settings import Settings
from index_store.store import IndexStore

K = 50
N = 3000


def vectors(seed: int, n: int) -> np.ndarray:
    # Random directions: the hardest case for a graph search, so a narrow one visibly misses.
    x = np.random.default_rng(seed).normal(size=(n, 64)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def fill(store: IndexStore) -> None:
    x = vectors(0, N)
    for i in range(0, N, 500):
        store._collection.add(
            ids=[f"c{j:05d}" for j in range(i, i + 500)], embeddings=x[i : i + 500]
        )


def recall(store: IndexStore) -> float:
    x, queries = vectors(0, N), vectors(1, 40)
    found = []
    for q in queries:
        exact = {f"c{j:05d}" for j in np.argsort(-(x @ q))[:K]}
        hits = {h.chunk_id for h in store.dense_search(q.tolist(), K)}
        found.append(len(hits & exact) / K)
    return float(np.mean(found))


def settings_for(tmp_path: Path, ef: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        index_dir=tmp_path / "index",
        cache_dir=tmp_path / "cache",
        hnsw_ef_search=ef,
    )


def test_a_new_index_searches_as_broadly_as_configured(tmp_path: Path) -> None:
    narrow = open_store(settings_for(tmp_path / "narrow", 10), "test", create=True)
    broad = open_store(settings_for(tmp_path / "broad", 1000), "test", create=True)
    for store in (narrow, broad):
        fill(store)
    assert broad._collection.configuration["hnsw"]["ef_search"] == 1000
    # Chroma searches at least k wide, so the narrow index still explores 50 neighbours.
    assert recall(narrow) < 0.95
    assert recall(broad) >= 0.99


def test_an_existing_index_takes_the_configured_breadth(tmp_path: Path) -> None:
    # Built narrow in another process, as an index made before the setting existed.
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from pathlib import Path
        from index_store.open_index import open_store
        from tests.index_store.test_search_breadth import fill, settings_for
        fill(open_store(settings_for(Path({str(tmp_path)!r}), 10), "test", create=True))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    store = open_store(settings_for(tmp_path, 1000), "test", create=False)
    assert store._collection.configuration["hnsw"]["ef_search"] == 1000
    assert recall(store) >= 0.99
