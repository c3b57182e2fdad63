"""Server mode against a real `chroma run`: one writer, readers with no registry of their own."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from index_store.errors import ConfigError, IndexNotFoundError
from index_store.open_index import open_store
from index_store.settings import Settings
from index_store.store import IndexStore
from ingest.chunking import ChunkingConfig
from ingest.pipeline import Ingestor, ingest_paths, remove_document
from tests.conftest import HashingEmbedding

# The real model, real processes or real files: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow

_names = itertools.count()

RULES = "第一条 小微企业申请稳岗返还，须在2026年6月30日前提交申请表和营业执照复印件。\n"
RENT = "第一条 承租国有经营用房的个体工商户，免收三个月房租，由出租单位直接减免。\n"


def server_settings(url: str, root: Path, collection: str, **extra: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        index_dir=root,
        cache_dir=root / "cache",
        chroma_url=url,
        collection=collection,
        **extra,
    )


@pytest.fixture
def collection() -> str:
    return f"server-test-{next(_names)}"


@pytest.fixture
def writer(chroma_server: str, tmp_path: Path, collection: str) -> tuple[IndexStore, Ingestor]:
    store = open_store(
        server_settings(chroma_server, tmp_path / "writer", collection), "hash", create=True
    )
    return store, Ingestor(store, HashingEmbedding(), ChunkingConfig(300, 50, 0), 1 << 20)


def reader(url: str, root: Path, collection: str, refresh_seconds: float = 0) -> IndexStore:
    settings = server_settings(url, root, collection, refresh_seconds=refresh_seconds)
    return open_store(settings, "hash", create=False)


def test_a_reader_without_registry_serves_what_the_writer_wrote(
    chroma_server: str, tmp_path: Path, collection: str, writer: tuple[IndexStore, Ingestor]
) -> None:
    store, ingestor = writer
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "rules.txt").write_text(RULES, encoding="utf-8")
    (docs / "rent.txt").write_text(RENT, encoding="utf-8")
    assert not ingest_paths([docs], ingestor).failed

    replica = reader(chroma_server, tmp_path / "replica", collection)
    assert not (tmp_path / "replica" / "registry.sqlite").exists()
    with pytest.raises(ConfigError, match="no registry"):
        replica.registry  # noqa: B018
    # Same documents and the same chunk records as the writer's registry.
    assert [(d.doc_id, d.source, d.n_chunks) for d in replica.documents()] == [
        (d.doc_id, d.source, d.n_chunks) for d in store.documents()
    ]
    ids = [c for d in store.documents() for c in store.registry.chunk_ids_of(d.doc_id)]
    assert replica.chunks(ids) == store.chunks(ids)
    # Both retrievers work from the replica: BM25 rebuilt from Chroma, vectors from Chroma.
    top = replica.keyword_search("个体工商户房租减免", 1)[0]
    assert replica.chunks([top.chunk_id])[top.chunk_id].source.endswith("rent.txt")
    vector = HashingEmbedding().get_query_embedding("稳岗返还申请表")
    dense = replica.dense_search(vector, 1)[0]
    assert replica.chunks([dense.chunk_id])[dense.chunk_id].source.endswith("rules.txt")


def test_a_reader_has_policy_metadata_labels_and_document_text(
    chroma_server: str, tmp_path: Path, collection: str, writer: tuple[IndexStore, Ingestor]
) -> None:
    from dataclasses import replace

    from chatbot.answering.documents import Library
    from index_store.policy import Scope

    store, ingestor = writer
    path = tmp_path / "policy.txt"
    long_rules = "\n".join(f"第{n}条 {RULES[4:]}" for n in "一二三四五六")
    path.write_text(
        "示例办法\n示政办〔2026〕3号\n"
        + long_rules
        + "本办法自2026年1月1日起施行，有效期至2027年12月31日。",
        encoding="utf-8",
    )
    ingest_paths([path], replace(ingestor, labels=("internal",), collection="hr"))
    replica = reader(chroma_server, tmp_path / "replica", collection)
    (doc,) = replica.documents()
    assert doc.info == store.documents()[0].info
    assert (doc.info.doc_number, doc.info.expires) == ("示政办〔2026〕3号", "2027-12-31")
    assert (doc.info.labels, doc.info.collection) == (("internal",), "hr")
    # Chroma keeps chunks, not whole texts: the reader rebuilds the text from them.
    assert doc.n_chunks > 1
    original = store.document_text(doc.doc_id)
    assert original is not None and replica.document_text(doc.doc_id) == original.strip()
    # A document's chunks in reading order (list-position follow-ups walk them).
    chunks = replica.document_chunks(doc.doc_id)
    assert chunks == store.document_chunks(doc.doc_id)
    assert [c.ordinal for c in chunks] == list(range(doc.n_chunks))
    # Label filtering works on the replica too.
    public = Library(replica).filters(Scope(labels=frozenset({"public"})))
    assert public == {"doc_id": []}
    assert Library(replica).filters(Scope(labels=frozenset({"internal"}))) is None


def test_readers_follow_updates_and_removals(
    chroma_server: str, tmp_path: Path, collection: str, writer: tuple[IndexStore, Ingestor]
) -> None:
    store, ingestor = writer
    path = tmp_path / "rules.txt"
    path.write_text(RULES, encoding="utf-8")
    ingest_paths([path], ingestor)
    replica = reader(chroma_server, tmp_path / "replica", collection)
    old_ids = [h.chunk_id for h in replica.keyword_search("稳岗返还", 5)]
    assert old_ids

    path.write_text(RULES.replace("6月30日", "9月30日"), encoding="utf-8")
    assert len(ingest_paths([path], ingestor).by_status("updated")) == 1
    hits = replica.keyword_search("稳岗返还", 5)
    assert hits and not set(old_ids) & {h.chunk_id for h in hits}
    texts = [c.text for c in replica.chunks([h.chunk_id for h in hits]).values()]
    assert any("9月30日" in t for t in texts) and not any("6月30日" in t for t in texts)
    assert replica.chunks(old_ids) == {}  # replaced chunks are unknown, never cited

    remove_document(store, str(path))
    assert replica.keyword_search("稳岗返还", 5) == []
    assert replica.documents() == []


def test_a_reader_rechecks_only_after_its_refresh_interval(
    chroma_server: str, tmp_path: Path, collection: str, writer: tuple[IndexStore, Ingestor]
) -> None:
    _, ingestor = writer
    first = tmp_path / "rules.txt"
    first.write_text(RULES, encoding="utf-8")
    ingest_paths([first], ingestor)
    replica = reader(chroma_server, tmp_path / "replica", collection, refresh_seconds=3600)
    assert replica.keyword_search("房租", 5) == []

    second = tmp_path / "rent.txt"
    second.write_text(RENT, encoding="utf-8")
    ingest_paths([second], ingestor)
    assert replica.keyword_search("房租", 5) == []  # still inside the interval: no server call
    fresh = reader(chroma_server, tmp_path / "fresh", collection, refresh_seconds=3600)
    assert fresh.keyword_search("房租", 5)


def test_reader_errors_name_the_fix(
    chroma_server: str, tmp_path: Path, collection: str, writer: tuple[IndexStore, Ingestor]
) -> None:
    with pytest.raises(IndexNotFoundError, match="no collection 'missing-collection'"):
        reader(chroma_server, tmp_path / "r1", "missing-collection")
    _, ingestor = writer
    (tmp_path / "rules.txt").write_text(RULES, encoding="utf-8")
    ingest_paths([tmp_path / "rules.txt"], ingestor)
    settings = server_settings(chroma_server, tmp_path / "r2", collection)
    with pytest.raises(ConfigError, match="built with embedder 'hash'"):
        open_store(settings, "another-model", create=False)


def test_two_app_processes_answer_from_one_server_index(
    chroma_server: str, tmp_path: Path, collection: str
) -> None:
    """`policyqa ingest` writes; two other processes with empty index dirs answer at once."""
    import json
    import os
    import subprocess
    import sys

    from tests.files import DEMO_DIR

    exe = Path(sys.executable).with_name("policyqa")
    base = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    base |= {"POLICYQA_CHROMA_URL": chroma_server, "POLICYQA_COLLECTION": collection}

    def env(name: str) -> dict[str, str]:
        return base | {
            "POLICYQA_INDEX_DIR": str(tmp_path / name),
            "POLICYQA_CACHE_DIR": str(tmp_path / "cache"),
        }

    done = subprocess.run(
        [str(exe), "ingest", str(DEMO_DIR)], env=env("writer"), capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    question = "小微企业稳岗返还的比例是多少？"
    replicas = [
        subprocess.Popen(
            [str(exe), "ask", "--json", question],
            env=env(f"replica{n}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for replica in replicas:
        out, err = replica.communicate(timeout=300)
        assert replica.returncode == 0, err
        answer = json.loads(out)
        assert not answer["refused"]
        assert answer["citations"][0]["source"].endswith("中小企业纾困扶持办法.txt")
    assert not list(tmp_path.glob("replica*/registry.sqlite"))
