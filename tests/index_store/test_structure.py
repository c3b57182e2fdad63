"""Document structure is parsed once at ingest, stored, and read by answers instead of the text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.answering.clauses import clause_locator
from chatbot.answering.questions import Turn
from chatbot.answering.retrieval import HybridRetriever, RetrievalConfig
from chatbot.answering.service import AnswerConfig, AnswerService
from index_store import structure
from index_store.entries import parse_entries
from index_store.numbering import without_marker
from index_store.store import IndexStore
from index_store.structure import ClauseMarks, DocumentStructure
from ingest.pipeline import Ingestor, ingest_paths
from tests.chatbot.test_clauses import LAW, MERGED, POLICY, ZH_MERGED
from tests.conftest import HashingEmbedding

RULES = (
    "示例市企业扶持办法\n\n第一章 总则\n\n第一条 为支持企业发展，制定本办法。\n\n"
    "第二章 扶持措施\n\n第二条 稳岗返还\n对不裁员的企业，返还失业保险费的60%。\n"
    "返还资金直接拨付至企业账户。\n\n第三条 贷款贴息\n按贷款利率的50%给予贴息。\n\n"
    "第四条 房租减免\n减免3个月房租。\n"
)


def test_marks_find_what_the_regexes_find_and_survive_json() -> None:
    for text in (LAW, POLICY, MERGED, ZH_MERGED, RULES):
        parsed = DocumentStructure.parse(text)
        again = DocumentStructure.from_json(parsed.to_json())
        assert again == parsed
        assert [e.label for e in again.entries] == [e.label for e in parse_entries(text)]
    marks = ClauseMarks.of(RULES)
    assert [m[2] for m in marks.articles] == ["第一条", "第二条", "第三条", "第四条"]
    assert [m[2] for m in marks.divisions][:2] == ["第一章", "第一条"]
    second = RULES.index("第二条")
    assert [m[2] for m in marks.articles_in(0, second, 12)][-1] == "第二条"
    assert marks.division_after(second + 1) == RULES.index("第三条")
    assert [label for label in ClauseMarks.of(MERGED).clauses_in(0, len(MERGED), 40)] == [
        "Section 2", "2.1", "2.2", "Section 3",
    ]  # fmt: skip


def test_another_version_s_structure_is_parsed_again() -> None:
    stored = json.loads(DocumentStructure.parse(RULES).to_json())
    stored["version"] = "0"
    assert DocumentStructure.from_json(json.dumps(stored)) is None


@pytest.mark.parametrize("text", [LAW, POLICY, MERGED, ZH_MERGED, RULES])
def test_locators_from_stored_marks_equal_those_from_the_text(text: str) -> None:
    marks = DocumentStructure.from_json(DocumentStructure.parse(text).to_json())
    assert marks is not None
    title = text.split("\n", 1)[0]
    for pos in range(0, len(text), 3):
        for chunk_start in (0, max(0, pos - 40)):
            expected = clause_locator((title,), text, pos, None, chunk_start, pos + 9)
            got = clause_locator((title,), text, pos, None, chunk_start, pos + 9, marks.marks)
            assert got == expected, (pos, chunk_start)


def test_answers_read_the_structure_stored_at_ingest(
    ingestor: Ingestor, store: IndexStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rules.txt"
    path.write_text(RULES, encoding="utf-8")
    ingest_paths([path], ingestor)
    (record,) = store.documents()
    assert store.document_structure(record.doc_id) == DocumentStructure.parse(
        store.document_text(record.doc_id) or ""
    )

    def refuse(*_: object) -> object:
        raise AssertionError("the document was parsed again at answer time")

    monkeypatch.setattr(structure, "parse_entries", refuse)
    monkeypatch.setattr(ClauseMarks, "of", refuse)
    retriever = HybridRetriever(store, HashingEmbedding(), RetrievalConfig(top_k=3))
    service = AnswerService(retriever, AnswerConfig(top_k=3))
    first = service.ask("稳岗返还返还多少失业保险费？")
    assert not first.refused and "60%" in first.answer
    assert first.citations[0].clause.startswith("第二章 第二条")
    # "The next one" steps to 第三条 through the stored entries.
    history = [Turn("user", "稳岗返还返还多少失业保险费？"), Turn("assistant", first.answer)]
    following = service.ask("下一条呢？", history)
    assert "贴息" in following.answer, following.answer


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("第三条 房租减免", "房租减免"),
        ("第二章 支持措施", "支持措施"),
        ("二、奖励标准", "奖励标准"),
        ("（一）首次认定", "首次认定"),
        ("Section 2 Refunds", "Refunds"),
        ("2.1 Standard refunds", "Standard refunds"),
        ("第八条", ""),
        ("房租减免", "房租减免"),
    ],
)
def test_a_heading_names_its_part_after_its_marker(label: str, name: str) -> None:
    assert without_marker(label) == name
