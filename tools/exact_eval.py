"""An eval run whose dense search is exact: ``python -m tools.exact_eval [policyqa eval run args]``.

Chroma's HNSW index can come back slightly different in each process (it is rebuilt from its log,
with threads), so two runs of the same code may rank a few near-tied passages differently. To
compare two versions of the code answer by answer (a refactor must not change any answer), this
runs ``policyqa eval run`` with Chroma's search replaced by an exact cosine search over the same
stored vectors, which gives the same ranking every run.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np

from index_store.store import DenseHit, Filters, IndexStore, chroma_where


def _exact(
    self: IndexStore, query_vector: Sequence[float], k: int, filters: Filters | None = None
) -> list[DenseHit]:
    """``IndexStore.dense_search`` by exact cosine over every stored vector."""
    chroma_where(filters)  # the same validation as the search it stands in for
    ids, vectors = _vectors(self)
    allowed = np.ones(len(ids), dtype=bool)
    if filters:
        index = self.keyword_index()
        allowed = np.asarray(index.allows(ids, index.mask(filters)))
    distance = 1.0 - vectors @ np.asarray(query_vector, dtype=np.float32)
    distance[~allowed] = np.inf
    order = np.lexsort((np.asarray(ids), distance))[: min(k, int(allowed.sum()))]
    return [DenseHit(ids[i], math.exp(-float(distance[i])), r) for r, i in enumerate(order, 1)]


_CACHE: dict[int, tuple[list[str], np.ndarray]] = {}


def _vectors(store: IndexStore) -> tuple[list[str], np.ndarray]:
    key = id(store._collection)
    if key not in _CACHE:
        got = store._collection.get(include=["embeddings"])
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        _CACHE[key] = (list(got["ids"]), vectors)
    return _CACHE[key]


def main() -> None:
    from policyqa.cli import app

    IndexStore.dense_search = _exact  # type: ignore[method-assign]
    sys.argv = ["policyqa", "eval", "run", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    main()
