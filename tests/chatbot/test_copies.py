"""A passage reprinted word for word in several documents is shown once, its copies named."""

from __future__ import annotations

import json
from pathlib import Path

from chatbot.answering.retrieval import (
    MAX_COPIES,
    HybridRetriever,
    RetrievalConfig,
    collapse_copies,
)
from chatbot.answering.service import AnswerConfig, AnswerService
from chatbot.ui.render import answer_json, sources_html, sources_text
from index_store.records import Chunk, Hit
from index_store.store import IndexStore
from ingest.pipeline import Ingestor, ingest_paths
from tests.conftest import HashingEmbedding

CLAUSE = "对承租国有资产类生产经营用房的企业，1个月房租免收、2个月租金减半。"


def chunk(doc: str, text: str) -> Chunk:
    return Chunk(f"{doc}:0", doc, 0, text, 0, len(text), (doc,), None, f"{doc}.txt", doc)


def test_copies_join_the_first_passage_with_their_text_and_free_its_places() -> None:
    a, b, c = (
        chunk("a", CLAUSE),
        chunk("b", CLAUSE.replace("，", "，\n ")),
        chunk("c", "其他内容" * 10),
    )
    short_a, short_b = chunk("sa", "四、支持复工复产"), chunk("sb", "四、支持复工复产")
    ranked = [(a, 0.9), (b, 0.9), (short_a, 0.8), (short_b, 0.8), (c, 0.5)]
    shown = collapse_copies(ranked, 3)
    # b repeats a (spaces and line breaks aside); a bare heading is too short to be a reprint.
    assert [(s.doc_id, [x.doc_id for x in copies]) for s, _, copies in shown] == [
        ("a", ["b"]),
        ("sa", []),
        ("sb", []),
    ]
    assert [s.doc_id for s, _, _ in collapse_copies(ranked, 4)] == ["a", "sa", "sb", "c"]
    many = [(chunk(f"d{i}", CLAUSE), 1.0 - i / 10) for i in range(MAX_COPIES + 3)]
    ((first, score, copies),) = collapse_copies([*many, (c, 0.1)], 1)
    assert (first.doc_id, score) == ("d0", 1.0)
    assert [x.doc_id for x in copies] == [f"d{i}" for i in range(1, MAX_COPIES + 1)]


NOTICE = """关于支持中小企业共渡难关的若干措施
一、减免房租
{clause}对租用其他经营用房的，鼓励业主为租户减免租金，具体由双方协商解决。
"""


def test_a_reprinted_passage_is_cited_once_with_its_copies_named(
    ingestor: Ingestor, store: IndexStore, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("省政府网", "市政府网"):
        (folder / f"{name}.txt").write_text(NOTICE.format(clause=CLAUSE), encoding="utf-8")
    (folder / "其他.txt").write_text(
        "关于房租补贴的通知\n对租用民营物业的小微企业，按实际租金的30%给予房租补贴。\n",
        encoding="utf-8",
    )
    assert not ingest_paths([folder], ingestor).failed
    retriever = HybridRetriever(store, HashingEmbedding(), RetrievalConfig(top_k=2))
    hits: list[Hit] = retriever.search("承租国有资产类经营用房的企业房租怎么减免？")
    # Both places the answer stands, and the other notice's passage besides.
    first, second = hits
    assert {first.chunk.source, *(c.source for c in first.copies)} == {
        str(folder / "省政府网.txt"),
        str(folder / "市政府网.txt"),
    }
    assert second.chunk.source == str(folder / "其他.txt") and not second.copies

    answer = AnswerService(retriever, AnswerConfig(top_k=2)).ask(
        "承租国有资产类用房的企业房租怎么减免？"
    )
    cited = answer.citations[0]
    assert "1个月房租免收" in cited.quote
    copy = cited.copies[0]
    assert copy.source == first.copies[0].source and copy.chunk_id == first.copies[0].chunk_id
    shown = Path(copy.source).name  # the file's name, never the server's folders
    assert json.loads(json.dumps(answer_json(answer)))["citations"][0]["copies"][0]["source"] == (
        shown
    )
    assert f"同见: {shown}" in sources_text(answer)
    assert "同见" in sources_html(answer) and shown in sources_html(answer)
    assert copy.source not in sources_html(answer)


def test_the_sources_panel_shows_names_and_no_markdown_markers() -> None:
    from index_store.records import Answer, Citation

    text = "## 二、奖励标准\n（一）首次认定为国家高新技术企业的，一次性给予30万元奖励。"
    cited = Citation(1, "d1", "/srv/policies/2026/高新.md", "高新办法", "二、奖励标准", text, 0,
                     len(text), 1.0, quote="（一）首次认定为国家高新技术企业的，一次性给予30万元奖励。")  # fmt: skip
    answer = Answer("q", "现有政策文件中未找到……", "extractive", True, (cited,), language="zh")
    panel = sources_html(answer)
    assert "##" not in panel and "<mark>（一）首次认定" in panel
    assert "高新.md" in panel and "/srv/policies" not in panel
    assert json.loads(json.dumps(answer_json(answer)))["citations"][0]["source"] == "高新.md"
