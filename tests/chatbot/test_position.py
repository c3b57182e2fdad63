"""List-position follow-ups ("And the next one?", "下一条呢？"): which questions point at a
position, how a document's entries nest, answers on the demo corpus with the real model, and
the eval asking follow-ups after the earlier answers (`--chat`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from chatbot.answering.position import Plan, _step, direction, locate, plan_follow_up
from chatbot.answering.questions import Turn
from chatbot.answering.service import AnswerService
from eval.datasets import EvalQuery
from eval.run import evaluate_question
from index_store.entries import Entry, entry_name, parse_entries
from index_store.numbering import ARTICLE
from index_store.policy import Scope
from index_store.records import Chunk, Hit
from index_store.settings import Settings
from index_store.store import IndexStore
from index_store.structure import DocumentStructure
from policyqa.compose import build_answer_service

HANDBOOK = """# Chat

## Channels

| Member | Channel |
| ------ | ------- |
| CEO    | `#ceo`  |
| CFO    | `#finance` |
|        |         |
| CTO    | `#cto`  |

### Group Channels (g_)

Group channels correspond to a stage group.

- `#g_create`: the Create stage.
- `#g_plan`: the Plan stage.

### Location Channels (loc_)

These channels help team members in one region meet.

## Expenses
"""

RULES = """示例办法
第一章 总则
第一条 适用范围。
第二条 施行日期。
第二章 支持措施
第三条 房租减免。
（一）减免三个月。
（二）减半三个月。
第四条 稳岗返还。
"""


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("And for the next one?", "next"),
        ("What about the following type?", "next"),
        ("And the one after that?", "next"),
        ("And for the one below it?", "next"),
        ("For the next item, are family plans covered?", "next"),
        ("What about the one above?", "previous"),
        ("And the previous one?", "previous"),
        ("And the last one?", "last"),
        ("下一条呢？", "next"),
        ("那后一项呢？", "next"),
        ("上一条是什么？", "previous"),
        ("最后一项呢？", "last"),
        ("下一章呢？", "next"),
        ("And the next section?", "next"),
        ("What does the previous article say?", "previous"),
        # Not positional: "next" naming a thing, a date, a long question, "last" as a verb.
        ("What is the next deadline?", None),
        ("下一年度的补贴标准是多少？", None),
        ("When was this policy last updated?", None),
        ("What was the previous policy's limit?", None),
        ("Which expenses are reimbursed when the next trip is booked by the employee?", None),
        ("那审核要多久？", None),
    ],
)
def test_which_follow_ups_point_at_a_position(question: str, expected: str | None) -> None:
    assert direction(question) == expected


def test_a_chain_of_positional_questions_steps_from_the_last_real_question() -> None:
    plan = plan_follow_up("And the one after that?", ["Who is CEO?", "And the next one?"])
    assert plan is not None
    assert (plan.base, plan.steps) == ("Who is CEO?", ("next", "next"))
    assert plan_follow_up("And the next one?", []) is None
    assert plan_follow_up("And the next one?", ["And the previous one?"]) is None
    assert plan_follow_up("What is the CFO's channel?", ["Who is CEO?"]) is None


def _entry(entries: list[Entry], label_start: str) -> Entry:
    return next(e for e in entries if e.label.startswith(label_start))


def test_markdown_entries_nest_and_step_to_their_neighbours() -> None:
    entries = parse_entries(HANDBOOK)
    labels = [e.label for e in entries]
    # The table's header and separator rows are not entries; its rows are, in order.
    assert "Member | Channel" not in labels
    assert labels[:5] == [
        "Chat",
        "Channels",
        "CEO    | `#ceo`",
        "CFO    | `#finance`",
        "CTO    | `#cto`",
    ]
    for label in labels:  # every label is verbatim text of the document at its offset
        entry = _entry(entries, label)
        assert HANDBOOK[entry.label_start : entry.label_start + len(label)] == label
    cfo = _entry(entries, "CFO")
    assert _step(entries, cfo, "next") == _entry(entries, "CTO")
    assert _step(entries, cfo, "previous") == _entry(entries, "CEO")
    assert _step(entries, _entry(entries, "CEO"), "last") == _entry(entries, "CTO")
    assert _step(entries, _entry(entries, "CTO"), "next") is None  # a table ends its list
    group = _entry(entries, "Group Channels")
    assert _step(entries, group, "next") == _entry(entries, "Location Channels")
    # A section spans what it heads; the next section of its rank ends it.
    assert HANDBOOK[group.start : group.end].rstrip().endswith("the Plan stage.")
    # Past its list's end a bullet steps into the next section, which has no bullets.
    plan = _entry(entries, "`#g_plan`")
    assert _step(entries, plan, "next") == _entry(entries, "Location Channels")
    assert _step(entries, _entry(entries, "`#g_create`"), "next") == plan


def test_code_block_lines_are_no_entries_to_step_to() -> None:
    text = "## Setup\n\n```sh\n# install\n- not a bullet\n| a | b |\n```\n\n## Usage\n\nRun it.\n"
    entries = parse_entries(text)
    assert [e.label for e in entries] == ["Setup", "Usage"]
    assert _step(entries, entries[0], "next") == entries[1]


def test_numbered_clauses_continue_across_chapters() -> None:
    entries = parse_entries(RULES)
    second = _entry(entries, "第二条")
    # 第二条 closes 第一章; the next article is 第三条 in 第二章, not the chapter heading.
    assert _step(entries, second, "next") == _entry(entries, "第三条")
    assert _step(entries, _entry(entries, "第三条"), "previous") == second
    assert _step(entries, _entry(entries, "（一）"), "next") == _entry(entries, "（二）")
    assert _step(entries, _entry(entries, "第一章"), "next") == _entry(entries, "第二章")
    assert _step(entries, _entry(entries, "第四条"), "next") is None


class _OneDocument:
    """One document in one passage: ``HANDBOOK`` unless another text is given."""

    def __init__(self, text: str = HANDBOOK) -> None:
        self.text = text
        self.chunk = Chunk("c0", "chat", 0, text, 0, len(text), ("Chat",), None, "chat.md", "Chat")

    def document_text(self, doc_id: str) -> str | None:
        return self.text if doc_id == "chat" else None

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return [self.chunk] if doc_id == "chat" else []

    def document_structure(self, doc_id: str) -> DocumentStructure | None:
        return DocumentStructure.parse(self.text) if doc_id == "chat" else None


def test_next_after_an_answer_that_quoted_a_whole_table_is_the_row_the_question_named() -> None:
    # The answer quoted the table from its header on: of the rows it showed, the question
    # named the CFO's, so "the next one" is the CTO's row, not the section after the table.
    shown = "According to the policy documents: | Member | Channel |\n| CEO | `#ceo` |\n" + (
        "| CFO | `#finance` |\n| CTO | `#cto` | [1]"
    )
    question = "What is the Slack channel for the CFO?"
    plan = plan_follow_up("And the next one?", [question])
    assert plan is not None
    documents = _OneDocument()
    found = [Hit(chunk=documents.chunk, score=1.0)]

    def idf(term: str) -> float:  # a name weighs more than a word every page uses
        return 3.0 if term == "cfo" else 1.0

    located = locate("And the next one?", plan, found, documents, idf, shown)
    assert located is not None
    assert located.sentences[0].text == "CTO    | `#cto`"


def test_next_after_a_question_that_names_a_section_is_the_next_section() -> None:
    # The bullets share more of the question's words ("Slack", "channel", "group") than the
    # heading does, but the question names the heading: "the next one" is the next category.
    text = (
        "# Chat\n\n### Group Channels (g_)\n\n"
        "- `#g_create`: the Slack channel of the Create group.\n"
        "- `#g_plan`: the Slack channel of the Plan group.\n\n"
        "### Location Channels (loc_)\n\nRegional channels.\n"
    )
    assert [entry_name(e) for e in parse_entries(text)[1:3]] == ["Group Channels", "#g_create"]
    question = "What is the prefix for Group Channels in Slack?"
    plan = plan_follow_up("And for the next one?", [question])
    assert plan is not None
    documents = _OneDocument(text)
    found = [Hit(chunk=documents.chunk, score=1.0)]
    located = locate("And for the next one?", plan, found, documents, lambda term: 1.0)
    assert located is not None
    assert located.sentences[0].text == "Location Channels (loc_)"
    # A name must be whole words of the question: "Group Channel" names neither.
    plan = plan_follow_up("And for the next one?", ["Which Slack group channel is for Create?"])
    assert plan is not None
    located = locate("And for the next one?", plan, found, documents, lambda term: 1.0)
    assert located is not None
    assert located.sentences[0].text.startswith("`#g_plan`")


@pytest.fixture(scope="module")
def service(demo_store: tuple[IndexStore, Settings]) -> AnswerService:
    store, settings = demo_store
    return build_answer_service(settings, store)


def _ask(service: AnswerService, *questions: str) -> tuple[str, str]:
    history = [Turn("user", q) for q in questions[:-1]]
    answer = service.ask(questions[-1], history)
    assert not answer.refused and answer.citations
    return answer.answer, answer.citations[0].locator


def test_next_and_previous_article_of_a_chinese_policy(service: AnswerService) -> None:
    text, locator = _ask(service, "稳岗返还的比例是多少？", "下一条呢？")
    assert text.startswith("根据现有政策文件：\n第五条 贷款贴息\n对新增流动资金贷款")
    assert "第五条 贷款贴息" in locator
    # Across a chapter break, and two steps along a chain of follow-ups.
    text, locator = _ask(service, "贷款贴息的标准是什么？", "下一条呢？")
    assert "第六条 申报材料" in text and "第六条 申报材料" in locator
    text, _ = _ask(service, "稳岗返还的比例是多少？", "上一条呢？", "再上一条呢？")
    assert "第二条" in text


def test_next_is_the_entry_after_the_one_the_previous_answer_quoted(
    service: AnswerService,
) -> None:
    # The earlier answer showed 第三条's second item (the question alone points at 第四条):
    # "下一条" is the article after what the user saw.
    shown = (
        "根据现有政策文件：\n（二）承租其他经营用房的，鼓励业主减免租金，对减免租金的业主按"
        "减免金额的30%给予补贴，每户补贴最高不超过20万元。[1]"
    )
    history = [Turn("user", "稳岗返还的比例是多少？"), Turn("assistant", shown)]
    answer = service.ask("下一条呢？", history)
    assert answer.citations[0].locator.endswith("第四条 稳岗返还")
    assert "60%予以返还" in answer.answer
    # An answer that quotes nothing of the documents (a model's paraphrase) leaves the
    # earlier question to find the entry.
    history[-1] = Turn("assistant", "返还比例是六成。")
    assert service.ask("下一条呢？", history).citations[0].locator.endswith("第五条 贷款贴息")


def test_the_named_unit_decides_how_far_a_step_goes(service: AnswerService) -> None:
    # The answer showed 第三条's first item: "下一项" is its second item, "下一条" the next
    # article.
    shown = "根据现有政策文件：\n（一）承租市属国有企业经营用房的中小微企业，免收3个月房租，之后3个月房租减半收取。[1]"
    history = [Turn("user", "市属国有企业的经营用房怎么收费？"), Turn("assistant", shown)]
    assert "（二）承租其他经营用房的" in service.ask("下一项呢？", history).answer
    answer = service.ask("下一条呢？", history)
    assert "第四条 稳岗返还" in answer.answer and "（二）" not in answer.answer
    plan = plan_follow_up("下一条呢？", ["房租怎么减免？"])
    assert plan is not None and plan.unit == frozenset({ARTICLE})
    assert plan_follow_up("下一项呢？", ["房租怎么减免？"]) == Plan("房租怎么减免？", ("next",))


def test_next_section_of_an_english_policy_answers_the_same_question(
    service: AnswerService,
) -> None:
    question = "What is the refund window for opened items?"
    answer = service.ask("And the next one?", [Turn("user", question)])
    assert "2.3 Digital goods" in answer.answer and "non-refundable" in answer.answer
    # Clauses 2.1-2.3 share one passage under "Section 2 Refunds"; the citation names 2.3.
    assert answer.citations[0].clause == "Section 2.3"
    # Without a history the same words are an ordinary question (no position to step from).
    plain = service.ask("And the next one?")
    assert "Digital goods" not in plain.answer


def test_a_named_english_unit_steps_between_sections(service: AnswerService) -> None:
    # The opened-items answer sits in clause 2.2 of Section 2: "the next one" is clause 2.3,
    # "the next section" is Section 3.
    question = "What is the refund window for opened items?"
    text, locator = _ask(service, question, "And the next section?")
    assert "Section 3 Warranty" in locator and "2-year limited warranty" in text
    _, locator = _ask(service, question, "And the previous section?")
    assert "Section 1 Scope" in locator
    plan = plan_follow_up("What does the previous article say?", [question])
    assert plan is not None and plan.unit == frozenset({ARTICLE})


class _Recording:
    """The service, recording the history each question is asked with."""

    def __init__(self, service: AnswerService) -> None:
        self.service = service
        self.asked: list[tuple[str, list[Turn]]] = []

    def ask(self, question: str, history: Sequence[Turn] = (), scope: Scope | None = None) -> Any:
        self.asked.append((question, list(history)))
        return self.service.ask(question, history, scope)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.service, name)


@pytest.mark.parametrize("chat", [False, True])
def test_the_eval_asks_a_follow_up_after_the_earlier_question_or_its_answer(
    service: AnswerService, chat: bool
) -> None:
    base = "稳岗返还的比例是多少？"
    q = EvalQuery("q1", "下一条呢？", (), history=(base,))
    recording = _Recording(service)
    result = evaluate_question(q, recording, {}, 5, chat=chat)  # type: ignore[arg-type]
    shown = service.ask(base, [], Scope(in_force_only=False)).answer
    expected = [Turn("user", base), Turn("assistant", shown)] if chat else [Turn("user", base)]
    assert recording.asked[-1] == ("下一条呢？", expected)
    assert "第五条 贷款贴息" in result.answer
