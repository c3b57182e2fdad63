"""A persistent passage-embedding cache keyed by (embedder, text).

Derived data under ``POLICYQA_CACHE_DIR``: re-chunking a corpus, rebuilding an index or running
an eval again embeds only the passages never seen before.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

EmbedFn = Callable[[list[str]], list[list[float]]]


class EmbeddingCache:
    """SQLite table ``text hash -> float32 vector`` for one embedder key."""

    def __init__(self, path: Path, embedder_key: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)"
        )
        self._prefix = embedder_key + "\0"

    def _key(self, text: str) -> str:
        return hashlib.sha256((self._prefix + text).encode("utf-8")).hexdigest()

    def get_many(self, texts: Sequence[str]) -> dict[str, list[float]]:
        keys = {self._key(t): t for t in texts}
        found: dict[str, list[float]] = {}
        items = list(keys)
        for i in range(0, len(items), 500):
            part = items[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._conn.execute(
                f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part
            ).fetchall()
            for key, blob in rows:
                found[keys[key]] = np.frombuffer(blob, dtype=np.float32).tolist()
        return found

    def put_many(self, texts: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        rows = [
            (self._key(t), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)

    def embed(self, texts: Sequence[str], embed: EmbedFn) -> tuple[list[list[float]], int]:
        """Vectors for ``texts``, computing only the missing ones with ``embed``.

        Returns the vectors in input order and how many texts were actually embedded.
        """
        cached = self.get_many(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in cached))
        if missing:
            fresh = embed(missing)
            self.put_many(missing, fresh)
            cached.update(zip(missing, fresh, strict=True))
        return [cached[t] for t in texts], len(missing)

    def close(self) -> None:
        self._conn.close()
