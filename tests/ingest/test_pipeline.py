from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.answering.retrieval import HybridRetriever, RetrievalConfig
from index_store.embedding.cache import EmbeddingCache
from index_store.errors import ConfigError, DocumentNotFoundError
from index_store.keyword import tokenize
from index_store.open_index import open_store
from index_store.settings import Settings
from index_store.store import IndexStore
from ingest.pipeline import Ingestor, indexed_text, ingest_paths, remove_document
from tests.conftest import HashingEmbedding
from tests.files import EN_POLICY, ZH_POLICY, make_pdf


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "zh.txt").write_text(ZH_POLICY, encoding="gb18030")
    (folder / "sub" / "travel.md").write_text(EN_POLICY, encoding="utf-8")
    (folder / "sub" / "blank.pdf").write_bytes(make_pdf([""]))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (folder / ".hidden.txt").write_text("secret", encoding="utf-8")
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8")
    return folder


def retriever(store: IndexStore, embedder: HashingEmbedding) -> HybridRetriever:
    return HybridRetriever(store, embedder, RetrievalConfig(top_k=5, candidate_k=20))


def all_text_reachable(store: IndexStore, embedder: HashingEmbedding, query: str) -> set[str]:
    dense = store.dense_search(embedder.get_query_embedding(query), 50)
    keyword = store.keyword_search(query, 50)
    ids = [h.chunk_id for h in dense] + [h.chunk_id for h in keyword]
    texts = {c.text for c in store.chunks(ids).values()}
    raw = store.vector_store.client.get(ids=[h.chunk_id for h in dense], include=["documents"])
    return texts | set(raw["documents"] or [])


def test_batch_ingests_good_files_and_reports_broken_ones(
    corpus: Path, ingestor: Ingestor, store: IndexStore
) -> None:
    report = ingest_paths([corpus], ingestor)
    by_name = {Path(o.source).name: o for o in report.outcomes}
    # Hidden files are left out; a file no loader reads is named as skipped, with its reason.
    assert set(by_name) == {
        "zh.txt",
        "travel.md",
        "blank.pdf",
        "broken.pdf",
        "notes.csv",
        "photo.jpg",
    }
    assert (by_name["notes.csv"].status, by_name["notes.csv"].reason) == ("skipped", "unsupported")
    assert (by_name["photo.jpg"].status, by_name["photo.jpg"].reason) == ("failed", "corrupt")
    assert by_name["zh.txt"].status == "added" and by_name["travel.md"].status == "added"
    assert (by_name["blank.pdf"].status, by_name["blank.pdf"].reason) == ("failed", "empty")
    assert (by_name["broken.pdf"].status, by_name["broken.pdf"].reason) == ("failed", "corrupt")
    assert report.failed
    n_chunks = by_name["zh.txt"].chunks + by_name["travel.md"].chunks
    assert store.registry.count_chunks() == n_chunks == store.count_vectors()
    assert report.embedded_chunks == n_chunks


def test_reingest_unchanged_does_no_embedding_work(
    corpus: Path, ingestor: Ingestor, store: IndexStore, hashing_embedder: HashingEmbedding
) -> None:
    ingest_paths([corpus], ingestor)
    calls, vectors, docs = len(hashing_embedder.embedded), store.count_vectors(), store.documents()
    generation = store.registry.generation
    report = ingest_paths([corpus], ingestor)
    assert len(hashing_embedder.embedded) == calls
    assert report.embedded_chunks == 0
    assert {o.status for o in report.outcomes if o.reason is None} == {"unchanged"}
    assert store.count_vectors() == vectors
    assert store.documents() == docs
    assert store.registry.generation == generation


def test_reingest_unchanged_files_reads_none_of_them(
    corpus: Path, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.pipeline as pipeline

    ingest_paths([corpus], ingestor)
    read: list[str] = []
    real = pipeline._loaded

    def spy(item: Path, *args: object) -> object:
        read.append(item.name)
        return real(item, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_loaded", spy)
    report = ingest_paths([corpus], ingestor)
    # Only the files that failed before are read again; the indexed ones are known by hash.
    assert sorted(read) == ["blank.pdf", "broken.pdf", "photo.jpg"]
    assert [o.status for o in report.outcomes if Path(o.source).name == "zh.txt"] == ["unchanged"]
    (corpus / "zh.txt").write_text(
        ZH_POLICY + "\n第五条 本通知自发布之日起施行。", encoding="gb18030"
    )
    report = ingest_paths([corpus], ingestor)
    assert "zh.txt" in read
    assert [o.status for o in report.outcomes if Path(o.source).name == "zh.txt"] == ["updated"]


def test_changed_file_replaces_all_old_chunks_in_both_indexes(
    corpus: Path, ingestor: Ingestor, store: IndexStore, hashing_embedder: HashingEmbedding
) -> None:
    ingest_paths([corpus], ingestor)
    old_ids = set(
        store.registry.chunk_ids_of(
            store.registry.by_source(str((corpus / "zh.txt").resolve())).doc_id
        )
    )  # type: ignore[union-attr]
    new_text = ZH_POLICY.replace("每人每月500元", "每人每月800元").replace("租金减免", "水电补贴")
    (corpus / "zh.txt").write_text(new_text, encoding="utf-8")
    report = ingest_paths([corpus / "zh.txt"], ingestor)
    assert [o.status for o in report.outcomes] == ["updated"]
    reachable = all_text_reachable(store, hashing_embedder, "社会保险补贴 每人每月 元 租金减免")
    assert not any("500元" in t or "租金减免" in t for t in reachable)
    assert any("800元" in t for t in reachable)
    remaining = set(store.vector_store.client.get()["ids"])
    assert not (old_ids & remaining)
    assert store.count_vectors() == store.registry.count_chunks()
    assert len(store.documents()) == 2


def test_llama_index_reads_the_collection_without_a_json_copy_of_the_metadata(
    corpus: Path, ingestor: Ingestor, store: IndexStore, hashing_embedder: HashingEmbedding
) -> None:
    from llama_index.core import VectorStoreIndex

    ingest_paths([corpus], ingestor)
    stored = store.vector_store.client.get(include=["metadatas"])["metadatas"]
    assert stored and not any("_node_content" in m for m in stored)
    index = VectorStoreIndex.from_vector_store(store.vector_store, embed_model=hashing_embedder)
    hits = index.as_retriever(similarity_top_k=3).retrieve("社会保险补贴 每人每月500元")
    zh = store.registry.by_source(str((corpus / "zh.txt").resolve()))
    assert zh is not None
    top = hits[0].node
    assert "500元" in top.get_content() and top.ref_doc_id == zh.doc_id
    assert top.metadata["title"] == zh.title
    assert top.node_id in store.registry.chunk_ids_of(zh.doc_id)


def test_remove_by_id_and_by_path(corpus: Path, ingestor: Ingestor, store: IndexStore) -> None:
    ingest_paths([corpus], ingestor)
    zh = store.registry.by_source(str((corpus / "zh.txt").resolve()))
    assert zh is not None
    remove_document(store, zh.doc_id)
    remove_document(store, str(corpus / "sub" / "travel.md"))
    assert store.documents() == []
    assert store.count_vectors() == 0
    assert store.keyword_search("小微企业 economy flights", 10) == []
    with pytest.raises(DocumentNotFoundError, match="docs list"):
        remove_document(store, "no-such-doc")


def test_missing_path_is_a_failed_outcome(tmp_path: Path, ingestor: Ingestor) -> None:
    report = ingest_paths([tmp_path / "nope"], ingestor)
    assert [(o.status, o.reason) for o in report.outcomes] == [("failed", "missing")]


def test_embedding_cache_serves_a_rebuild(
    corpus: Path, settings: Settings, hashing_embedder: HashingEmbedding, ingestor: Ingestor
) -> None:
    cache = EmbeddingCache(settings.cache_dir / "emb.sqlite", "test-hashing")
    first = open_store(settings, "test-hashing", create=True, index_dir=settings.index_dir / "a")
    ingest_paths([corpus], Ingestor(first, hashing_embedder, ingestor.chunking, 1 << 20, cache))
    calls = len(hashing_embedder.embedded)
    second = open_store(settings, "test-hashing", create=True, index_dir=settings.index_dir / "b")
    report = ingest_paths(
        [corpus], Ingestor(second, hashing_embedder, ingestor.chunking, 1 << 20, cache)
    )
    assert len(hashing_embedder.embedded) == calls
    assert report.embedded_chunks == 0
    assert second.count_vectors() == first.count_vectors() > 0


def test_index_refuses_a_different_embedder(settings: Settings, store: IndexStore) -> None:
    with pytest.raises(ConfigError, match="built with embedder 'test-hashing'"):
        open_store(settings, "other-model", create=False)


def test_vectors_unknown_to_the_registry_are_never_returned(
    corpus: Path, ingestor: Ingestor, store: IndexStore, hashing_embedder: HashingEmbedding
) -> None:
    ingest_paths([corpus / "sub" / "travel.md"], ingestor)
    # An interrupted write can leave vectors that the registry does not name.
    store.vector_store.client.add(
        ids=["orphan"],
        embeddings=[hashing_embedder.get_query_embedding("economy flights")],
        documents=["economy flights orphan"],
        metadatas=[{"doc_id": "x", "source": "x"}],
    )
    hits = retriever(store, hashing_embedder).search("economy flights")
    assert hits and all(h.chunk.chunk_id != "orphan" for h in hits)


def test_a_passage_cut_from_a_long_table_is_indexed_with_its_header(
    tmp_path: Path, ingestor: Ingestor, store: IndexStore
) -> None:
    rows = "\n".join(f"| Team {i:02d} | `#team-{i:02d}` |" for i in range(100))
    page = tmp_path / "channels.md"
    page.write_text(f"# Slack\n\n| Member | Channel |\n| --- | --- |\n{rows}\n", encoding="utf-8")
    assert not ingest_paths([page], ingestor).failed
    doc_id = store.documents()[0].doc_id
    chunks = store.document_chunks(doc_id)
    tokens = store.registry.tokens_of(doc_id)
    later = [i for i, c in enumerate(chunks) if c.text.startswith("| Team")]
    assert later, "the table should span several chunks"
    for i in later:
        # The chunk's own text (and so every citation offset) is untouched; the indexed
        # text gains the column names.
        assert "Member" not in chunks[i].text and {"member", "channel"} <= set(tokens[i])
    # What a repair re-embeds from the registry is what the ingest indexed.
    text = store.document_text(doc_id) or ""
    assert tokens == [tokenize(indexed_text(c, text)) for c in chunks]


def test_markdown_links_are_indexed_by_their_text_not_their_target(
    tmp_path: Path, ingestor: Ingestor, store: IndexStore
) -> None:
    page = tmp_path / "links.md"
    page.write_text(
        "# Expenses\n\nFile claims in [the expense tool](https://tools.example.com/zylophant)"
        " and see ![the flow chart](img/quorvex.png) first.\n",
        encoding="utf-8",
    )
    assert not ingest_paths([page], ingestor).failed
    doc_id = store.documents()[0].doc_id
    (chunk,) = store.document_chunks(doc_id)
    tokens = set(store.registry.tokens_of(doc_id)[0])
    assert set(tokenize("expense tool flow chart")) <= tokens
    assert not tokens & set(tokenize("zylophant quorvex https png"))
    assert "https://tools.example.com/zylophant" in chunk.text  # the quote keeps the link
