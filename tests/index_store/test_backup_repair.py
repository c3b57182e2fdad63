"""Backups taken while serving, restores, start-up probing of a damaged index and repair."""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from index_store.backup import backup_index, restore_index
from index_store.errors import ConfigError, IndexBusyError
from index_store.open_index import open_store
from index_store.probe import probe_index
from index_store.settings import Settings
from index_store.store import IndexStore
from ingest.chunking import ChunkingConfig
from ingest.pipeline import Ingestor, ingest_paths, remove_document
from ingest.repair import rebuild_vectors
from tests.conftest import HashingEmbedding
from tests.index_store.test_write_safety import write_docs


def forget_chroma_clients() -> None:
    """Restore and repair run in a process of their own (the app is stopped); in this one test
    process, drop Chroma's cached client of the replaced folder as a restarted app would."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def ingestor(store: IndexStore) -> Ingestor:
    return Ingestor(store, HashingEmbedding(), ChunkingConfig(300, 50, 0), 1 << 20)


QUESTIONS = [f"第{i}号办法规定补贴标准为每户{i + 1}万元" for i in range(6)]


def results(store: IndexStore) -> list[tuple[str, str]]:
    """Best keyword and best dense passage for a question about each document."""
    out = []
    for question in QUESTIONS:
        vector = HashingEmbedding().get_query_embedding(question)
        best_keyword = store.keyword_search(question, 1)[0].chunk_id
        best_dense = store.dense_search(vector, 1)[0].chunk_id
        out.append((best_keyword, best_dense))
    return out


@pytest.fixture
def filled(store: IndexStore, tmp_path: Path) -> IndexStore:
    write_docs(tmp_path / "docs", "v1")
    ingest_paths([tmp_path / "docs"], ingestor(store))
    return store


def test_backup_while_serving_then_restore(
    filled: IndexStore, settings: Settings, tmp_path: Path
) -> None:
    expected = results(filled)
    errors: list[BaseException] = []
    stop = threading.Event()

    def serve() -> None:  # a reader keeps answering during the backup
        while not stop.is_set():
            try:
                assert results(filled) == expected
            except BaseException as exc:
                errors.append(exc)
                return

    reader = threading.Thread(target=serve)
    reader.start()
    try:
        manifest = backup_index(filled, tmp_path / "backup")
    finally:
        stop.set()
        reader.join()
    assert not errors
    assert (manifest.documents, manifest.chunks, manifest.vectors) == (6, 12, 12)
    copy = open_store(settings, "test-hashing", create=False, index_dir=tmp_path / "backup")
    assert results(copy) == expected and len(copy.documents()) == 6
    copy.close()

    remove_document(filled, str(tmp_path / "docs" / "policy0.txt"))
    assert len(filled.documents()) == 5
    filled.close()
    _, replaced = restore_index(tmp_path / "backup", settings.index_dir)
    forget_chroma_clients()
    assert replaced is not None and (replaced / "registry.sqlite").exists()
    restored = open_store(settings, "test-hashing", create=False)
    assert len(restored.documents()) == 6 and results(restored) == expected
    restored.close()
    with pytest.raises(ConfigError, match="already exists"):
        backup_index(open_store(settings, "test-hashing", create=False), tmp_path / "backup")


def test_no_backup_while_a_writer_holds_the_index(filled: IndexStore, tmp_path: Path) -> None:
    with filled.write_batch(), pytest.raises(IndexBusyError):
        # Same process, separate lock handle: the backup cannot take the lock.
        backup_index(open_store_like(filled), tmp_path / "backup")
    assert not (tmp_path / "backup").exists()


def open_store_like(store: IndexStore) -> IndexStore:
    settings = Settings(_env_file=None, index_dir=store.index_dir)  # type: ignore[call-arg]
    return open_store(settings, store.embedder_key, create=False)


@pytest.mark.slow
def test_damage_is_found_in_a_child_process_and_repaired(
    filled: IndexStore, settings: Settings
) -> None:
    expected = results(filled)
    assert probe_index(settings.index_dir, settings.collection).ok
    # Vectors lost from Chroma (a dropped segment): the registry still names them.
    lost = sorted(filled.registry.chunk_ids_of(filled.documents()[0].doc_id))
    filled._collection.delete(ids=lost)
    found = probe_index(settings.index_dir, settings.collection)
    assert (
        not found.ok and f"{len(lost)} of the registry's 12 chunks have no vector" in found.reason
    )
    filled.close()

    chroma = settings.index_dir / "chroma"
    chroma.rename(settings.index_dir / "chroma.damaged")
    forget_chroma_clients()
    store = open_store(settings, "test-hashing", create=False)
    assert rebuild_vectors(ingestor(store)) == (6, 12)
    assert probe_index(settings.index_dir, settings.collection).ok
    assert results(store) == expected
    store.close()


def test_a_server_on_a_corrupt_index_says_so_instead_of_crashing(
    filled: IndexStore, settings: Settings
) -> None:
    from tests.chatbot.test_guard import serving

    filled.close()
    with open(settings.index_dir / "chroma" / "chroma.sqlite3", "r+b") as f:
        f.write(os.urandom(4096))  # the database header is garbage now
    with serving(settings) as url:
        for path in ("/healthz", "/api/ask", "/"):
            try:
                urllib.request.urlopen(url + path, timeout=30)
                raise AssertionError(f"{path} answered 200 on a corrupt index")
            except urllib.error.HTTPError as exc:
                assert exc.code == 503
                body = exc.read().decode()
                assert "policyqa index repair" in body and "not a database" in body
