"""One writer per index; a write batch is seen whole or not at all; interrupted writes heal."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pydantic import Field, PrivateAttr

from index_store.errors import IndexBusyError
from index_store.open_index import open_store
from index_store.settings import Settings
from index_store.store import IndexStore
from ingest.chunking import ChunkingConfig
from ingest.pipeline import Ingestor, ingest_paths
from tests.conftest import HashingEmbedding


def write_docs(folder: Path, version: str, n: int = 6) -> None:
    folder.mkdir(exist_ok=True)
    for i in range(n):
        (folder / f"policy{i}.txt").write_text(
            f"第一条 第{i}号办法（{version}版）：企业申请补贴须提交申请表。\n"
            f"第二条 第{i}号办法（{version}版）规定补贴标准为每户{i + 1}万元。\n",
            encoding="utf-8",
        )


def visible_versions(reader: IndexStore) -> set[str]:
    """The versions a reader sees through the registry and the keyword index."""
    hits = reader.keyword_search("补贴 办法", 100)
    texts = [c.text for c in reader.chunks([h.chunk_id for h in hits]).values()]
    return {v for v in ("v1", "v2") if any(f"{v}版" in t for t in texts)}


class WatchingEmbedding(HashingEmbedding):
    """Embeds like HashingEmbedding and, at every call, records what a reader sees."""

    _reader: IndexStore = PrivateAttr()
    seen: list[set[str]] = Field(default_factory=list)

    def __init__(self, reader: IndexStore) -> None:
        super().__init__()
        self._reader = reader

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self.seen.append(visible_versions(self._reader))
        return super()._get_text_embeddings(texts)


def test_readers_see_the_old_index_until_the_whole_batch_commits(
    settings: Settings, store: IndexStore, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, "v1")
    ingest_paths([docs], Ingestor(store, HashingEmbedding(), ChunkingConfig(300, 50, 0), 1 << 20))
    reader = open_store(settings, "test-hashing", create=False)  # its own connections
    assert visible_versions(reader) == {"v1"}

    write_docs(docs, "v2")
    watcher = WatchingEmbedding(reader)
    # Small embed groups: the batch writes vectors and registry rows several times.
    import ingest.pipeline as pipeline

    old_group, pipeline._EMBED_GROUP = pipeline._EMBED_GROUP, 2
    try:
        ingest_paths([docs], Ingestor(store, watcher, ChunkingConfig(300, 50, 0), 1 << 20))
    finally:
        pipeline._EMBED_GROUP = old_group
    assert len(watcher.seen) >= 3 and all(seen == {"v1"} for seen in watcher.seen)
    assert visible_versions(reader) == {"v2"}
    assert store.count_vectors() == store.registry.count_chunks()


class FailingEmbedding(HashingEmbedding):
    _left: int = PrivateAttr()

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self._left = fail_at

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self._left -= 1
        if self._left < 0:
            raise RuntimeError("simulated crash in the middle of a batch")
        return super()._get_text_embeddings(texts)


def test_a_batch_that_dies_leaves_no_trace_and_the_next_writer_cleans_up(
    store: IndexStore, tmp_path: Path
) -> None:
    import ingest.pipeline as pipeline

    docs = tmp_path / "docs"
    write_docs(docs, "v1")
    old_group, pipeline._EMBED_GROUP = pipeline._EMBED_GROUP, 2
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            ingest_paths(
                [docs], Ingestor(store, FailingEmbedding(2), ChunkingConfig(300, 50, 0), 1 << 20)
            )
    finally:
        pipeline._EMBED_GROUP = old_group
    assert store.documents() == [] and store.registry.count_chunks() == 0
    assert store.count_vectors() > 0  # vectors of the dead batch, named by no registry row
    assert store.registry.get_meta("dirty") == "1"

    report = ingest_paths(
        [docs], Ingestor(store, HashingEmbedding(), ChunkingConfig(300, 50, 0), 1 << 20)
    )
    assert not report.failed and len(store.documents()) == 6
    assert store.count_vectors() == store.registry.count_chunks()
    assert store.registry.get_meta("dirty") == "0"


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from index_store.settings import Settings
    from index_store.open_index import open_store
    s = Settings(_env_file=None, index_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[1]) / "c")
    store = open_store(s, "test-hashing", create=True)
    with store.write_batch():
        print("holding", flush=True)
        time.sleep(60)
    """
)


def test_a_second_writer_fails_fast_with_a_clear_message(
    settings: Settings, store: IndexStore, tmp_path: Path
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.index_dir)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        docs = tmp_path / "docs"
        write_docs(docs, "v1")
        started = time.monotonic()
        with pytest.raises(IndexBusyError, match="another process is writing"):
            ingest_paths(
                [docs], Ingestor(store, HashingEmbedding(), ChunkingConfig(300, 50, 0), 1 << 20)
            )
        assert time.monotonic() - started < 3
        assert store.documents() == []
    finally:
        holder.kill()
        holder.wait()
    # Once the holder is gone (even killed), the lock is free again.
    ingest_paths([docs], Ingestor(store, HashingEmbedding(), ChunkingConfig(300, 50, 0), 1 << 20))
    assert len(store.documents()) == 6
