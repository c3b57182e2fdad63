"""Questions about the library itself ("有哪些政策？") are answered by the list of policies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chatbot.answering.list_questions import asks_for_catalogue, asks_for_lapsed, kind_asked
from chatbot.answering.measures import measures, naming_sentence
from chatbot.answering.policy_list import (
    MAX_LISTED,
    Listed,
    catalogue_answer,
    distinct,
    first_line,
    newest,
    picked,
)
from chatbot.answering.retrieval import HybridRetriever, RetrievalConfig
from chatbot.answering.service import AnswerConfig, AnswerService
from index_store.policy import PolicyInfo
from index_store.records import Chunk, DocumentRecord
from index_store.store import IndexStore
from index_store.structure import DocumentStructure
from ingest.pipeline import Ingestor, ingest_paths
from tests.conftest import HashingEmbedding


@pytest.mark.parametrize(
    "question",
    [
        "有哪些政策？",
        "有哪些扶持政策？",
        "你们有哪些惠企政策？",
        "现在有哪些有效的政策？",
        "都有哪些文件？",
        "企业可以享受哪些扶持政策？",
        "企业可以享受哪些扶持措施？",  # no measure named: the policies are the way in
        "列出所有政策",
        "What policies do you have?",
        "Which documents can I ask about?",
        "How many policies are in force?",
        "这些政策什么时候到期？",  # the list shows each one's validity
        "这些政策的有效期是多久？",
        "When do these policies expire?",
    ],
)
def test_a_question_about_the_library(question: str) -> None:
    assert asks_for_catalogue(question)


@pytest.mark.parametrize(
    ("question", "lapsed"),
    [
        ("哪些政策已经失效了？", True),
        ("哪些政策已经废止？", True),
        ("有哪些过期的文件？", True),
        ("哪些办法被替代了？", True),
        ("Which policies have expired?", True),
        ("Which documents are no longer in force?", True),
        ("What policies were repealed?", True),
        ("哪些补贴政策已经失效了？", False),  # a topic: its passages answer
        ("这些政策什么时候到期？", False),  # when they end: the list in force shows it
        ("有哪些政策？", False),
        ("Has the refund policy expired?", False),
    ],
)
def test_a_question_about_the_policies_no_longer_in_force(question: str, lapsed: bool) -> None:
    assert asks_for_lapsed(question) == lapsed


@pytest.mark.parametrize(
    "question",
    [
        "补贴政策有哪些？",  # a topic: its passages answer
        "稳岗方面有哪些措施？",
        "稳岗返还政策什么时候到期？",
        "申报截止时间是什么时候？",
        "北京市出台了哪些政策加大防控资金支持力度？",
        "哪些政策已经废止？",
        "是什么政策？",
        "What is the refund policy?",
        "What is your policy?",
        "Which documents do I need to apply?",
        "哪些企业可以享受这些政策？",  # who may apply: the subjects clause answers
    ],
)
def test_a_question_with_a_topic_of_its_own(question: str) -> None:
    assert not asks_for_catalogue(question)


SMALL = ("小微企业", "中小微企业", "小型企业")  # small business, read through the glossary


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("小微企业能享受哪些扶持？", ("小微企业",)),
        ("我们公司是小微企业，有什么补贴？", ("小微企业",)),
        ("作为一家外资企业，能享受哪些政策？", ("外资企业",)),
        ("有哪些针对小微企业的扶持政策？", ("小微企业",)),
        ("哪些政策适用于个体工商户？", ("个体工商户",)),
        ("高新技术企业有什么奖励？", ("高新技术企业",)),
        ("中小企业有哪些扶持政策？", ("中小企业", "中小微企业")),  # 中小微 includes 中小
        ("What support can small businesses get?", SMALL),
        ("What benefits do we get as a small business?", SMALL),
        ("What subsidies are available for SMEs?", ("中小企业", "中小微企业")),
        ("What incentives can foreign-invested enterprises enjoy?", ("外商投资企业", "外资企业")),
        ("Which policies apply to high-tech enterprises?", ("高新技术企业",)),
        ("小微企业能申请吗？", ("小微企业",)),  # whether it may apply at all
        ("个体工商户能否申报？", ("个体工商户",)),
        ("Can small businesses apply?", SMALL),
        ("Are SMEs eligible?", ("中小企业", "中小微企业")),
        ("个体工商户可以申请稳岗返还吗？", None),  # a measure: the checklist answers
        ("Can small businesses apply for rent relief?", None),
        ("企业能申请吗？", None),
        ("小微企业创业补贴怎么申请？", None),  # a measure and how: its passages answer
        ("小微企业能拿多少补贴？", None),  # an amount
        ("受疫情影响的小微企业有哪些优惠政策？", None),  # a condition of its own
        ("北京市对参保企业提供了哪些优惠政策？", None),  # a place
        ("哪些企业可以享受这些政策？", None),  # who may apply
        ("企业可以享受哪些扶持政策？", None),  # every policy: the whole list
        ("相关企业有哪些政策？", None),
        ("How do small businesses apply for loan subsidies?", None),
        ("What support do companies get?", None),  # no kind
        ("What is the IPO reward for SMEs?", None),  # a measure of its own
        ("What benefits do employees get?", None),
        ("What is the refund policy?", None),
    ],
)
def test_a_question_about_a_kind_of_enterprise(
    question: str, kinds: tuple[str, ...] | None
) -> None:
    assert kind_asked(question) == kinds


def test_a_kind_is_named_by_a_sentence_not_by_a_title_it_cites() -> None:
    repeal = "第九条 《示例市扶持小微企业创业发展办法》同时废止。"
    assert naming_sentence(repeal, ("小微企业",)) is None
    scope = "第一条 为稳定就业，制定本措施。本措施适用于本市中小微企业。"
    assert naming_sentence(scope, ("小微企业",)) == "本措施适用于本市中小微企业。"
    assert naming_sentence(scope, ("中小企业", "中小微企业")) == "本措施适用于本市中小微企业。"
    assert naming_sentence(scope, ("高新技术企业",)) is None
    # A sentence that says more than the document's title, when there is one.
    titled = "示例市扶持小微企业办法\n对小微企业免收3个月房租。"
    assert (
        naming_sentence(titled, ("小微企业",), "示例市扶持小微企业办法")
        == "对小微企业免收3个月房租。"
    )
    assert naming_sentence(titled.split("\n")[0], ("小微企业",), "示例市扶持小微企业办法") == (
        "示例市扶持小微企业办法"
    )


REPRINTED = "关于支持市场主体纾困的若干措施\n一、对承租国有房屋的小微企业，免收3个月房租。\n"


def test_a_reprint_is_listed_once(ingestor: Ingestor, store: IndexStore, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "省政府网.txt").write_text(REPRINTED, encoding="utf-8")
    (folder / "市政府网.txt").write_text("转发：" + REPRINTED, encoding="utf-8")
    # Two policies that share a boilerplate scope sentence are two policies.
    for name, measure in (
        ("贷款贴息", "对新增贷款按50%给予贴息。"),
        ("房租补贴", "按租金的30%给予补贴。"),
    ):
        text = f"关于{name}的通知\n本办法适用于本市小微企业。{measure}\n"
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    assert not ingest_paths([folder], ingestor).failed
    retriever = HybridRetriever(store, HashingEmbedding(), RetrievalConfig())
    answer = AnswerService(retriever, AnswerConfig()).ask("小微企业能享受哪些扶持？")
    assert answer.answer.startswith("现行有效的政策文件中，写到小微企业的共 3 份：")
    quotes = sorted(c.quote for c in answer.citations)
    assert quotes == [
        "一、对承租国有房屋的小微企业，免收3个月房租。",
        "本办法适用于本市小微企业。",
        "本办法适用于本市小微企业。",
    ]


def test_a_policys_measures_are_the_named_parts_under_a_heading_about_support() -> None:
    text = (
        "示例市支持企业发展措施\n第一章 总则\n第一条 本措施适用于中小微企业。\n"
        "第二章 支持措施\n第三条 房租减免\n免收3个月房租。\n第四条 稳岗返还\n按60%返还。\n"
        "第五条 对新增贷款的企业，给予贴息。\n第三章 申报程序\n第六条 申报材料\n申请表。\n"
    )
    structure = DocumentStructure.parse(text)
    assert measures(structure, "示例市支持企业发展措施") == ["房租减免", "稳岗返还"]
    award = "# 示例区高新技术企业奖励办法\n\n## 一、奖励对象\n\n企业。\n\n## 二、申请条件\n\n无。\n"
    assert measures(DocumentStructure.parse(award), "示例区高新技术企业奖励办法") == []
    assert measures(None, "") == []


def _record(i: int, effective: str) -> DocumentRecord:
    return DocumentRecord(
        doc_id=f"d{i}",
        source=f"p{i}.md",
        title=f"Policy {i}",
        kind="md",
        content_hash="h",
        n_chunks=1,
        n_chars=40,
        ingested_at="2026-11-27T00:00:00",
        info=PolicyInfo(effective=effective),
    )


def _opening(record: DocumentRecord) -> Chunk:
    text = f"\n# {record.title}\n\nThe first rule."
    return Chunk(
        f"{record.doc_id}-0", record.doc_id, 0, text, 0, len(text), (), None, "p.md", record.title
    )


def test_the_newest_are_listed_each_cited_by_its_opening_line() -> None:
    records = [_record(i, f"2026-{i % 12 + 1:02d}-01") for i in range(MAX_LISTED + 2)]
    shown = newest(records)
    assert [r.info.effective for r in shown][:2] == ["2026-12-01", "2026-11-01"]
    assert len(shown) == MAX_LISTED
    listed = [
        Listed(f"{r.title} (effective {r.info.effective})", c, first_line(c))
        for r in shown
        if (c := _opening(r))
    ]
    answer = catalogue_answer("What policies do you have?", 12, listed, "en", "in_force")
    assert not answer.refused
    assert answer.answer.startswith("Policy documents in force: 12, the newest 10 below.")
    assert "1. Policy 11 (effective 2026-12-01) [1]" in answer.answer.splitlines()
    first = answer.citations[0]
    assert (first.n, first.doc_id, first.quote) == (1, shown[0].doc_id, f"# {shown[0].title}")
    assert _opening(shown[0]).text[first.quote_start : first.quote_end] == first.quote
    nothing = catalogue_answer("有哪些政策？", 0, [], "zh", "in_force")
    assert nothing.refused and nothing.citations == () and "没有" in nothing.answer
    # None expired or repealed is an answer, not a refusal.
    none_lapsed = catalogue_answer("哪些政策已经失效了？", 0, [], "zh", "lapsed")
    assert not none_lapsed.refused and "没有已失效" in none_lapsed.answer


def test_a_policy_indexed_twice_is_listed_once() -> None:
    first, other = _record(1, "2026-01-01"), _record(2, "2026-02-01")
    copy = replace(first, doc_id="d1-copy", source="copies/p1.md")
    numbered = replace(other, info=replace(other.info, doc_number="示政办〔2026〕3号"))
    reprint = replace(numbered, doc_id="d2-reprint", content_hash="other spacing")
    assert distinct([first, copy, numbered, reprint]) == [first, numbered]
    # Same title, different content and no 文号: two documents.
    unnumbered = replace(first, doc_id="d3", content_hash="other text")
    assert distinct([first, unnumbered]) == [first, unnumbered]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("第二个政策的申请条件是什么？", (1, "第二个政策")),
        ("第3份呢？", (2, "第3份")),
        ("最后一个呢？", (3, "最后一个")),
        ("And the second one?", (1, "the second one")),
        ("What does the last policy cover?", (3, "the last policy")),
        ("Tell me about number 2", (1, "number 2")),
        ("第五个呢？", None),  # past the list
        ("第一条是什么？", None),  # an article of a policy, not a place in the list
        ("第一个步骤是什么？", None),
        ("What is the first step to get a refund?", None),
        ("And the second?", (1, "the second?")),
        ("申请条件是什么？", None),
    ],
)
def test_a_follow_up_names_a_place_in_the_list(
    question: str, expected: tuple[int, str] | None
) -> None:
    assert picked(question, 4) == expected
