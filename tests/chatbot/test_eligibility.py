"""Eligibility checklists: conditions from the clauses, judged only on stated facts; how-to-apply
questions get the deadline, materials and channel."""

from __future__ import annotations

from datetime import date

import pytest

from chatbot.answering.eligibility import (
    APPLICATION,
    ELIGIBILITY,
    build_checklist,
    checklist_kinds,
    facts_of,
)

TODAY = date(2026, 3, 15)
CLAUSES = [
    (1, "第一条 本措施适用于在本市依法登记注册的中小微企业。", False),
    (2, "对新增贷款的中小微企业给予贴息，单户年度贴息总额不超过100万元。"
        "申请贴息的企业应成立满1年，且属于制造业或住宿餐饮业。30人（含）以下的企业也可申请。", True),
    (3, "第六条 申报材料\n企业申请支持应当提交以下材料：\n1. 申请表；\n2. 营业执照复印件。", False),
    (4, "申报时间为每年3月1日至4月30日，逾期不予受理。", False),
    (5, "对制造业企业另给予设备补贴，最高50万元。", False),  # another measure's conditions
    (6, "企业通过“示例市企业服务平台”在线提交申请，补贴最高不超过20万元。", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("我们是一家小微企业，能申请吗？", ELIGIBILITY),
        ("小型企业是否可以申报稳岗返还？", ELIGIBILITY),
        ("Is a small business eligible for the grant?", ELIGIBILITY),
        ("稳岗返还怎么申请？", APPLICATION),
        ("房租减免的申报流程是什么？", APPLICATION),
        ("申报需要哪些材料？", APPLICATION),
        ("在哪里办理贷款贴息？", APPLICATION),
        ("我们是小微企业，能申请吗？如何申请？", ELIGIBILITY | APPLICATION),
        ("稳岗返还的比例是多少？", frozenset()),
        ("申请贴息的企业要成立多久？", frozenset()),
        ("How long is the warranty?", frozenset()),
    ],
)
def test_which_questions_get_a_checklist_of_what(question: str, expected: frozenset[str]) -> None:
    assert checklist_kinds(question) == expected


def test_facts_of_the_question() -> None:
    facts = facts_of("我们是一家位于示例市的小微企业，成立3年，做餐饮的，有25名员工", TODAY)
    assert facts.sizes == {"small", "micro"} and facts.places == ("示例市",)
    assert facts.industries == ("餐饮",) and facts.headcount == 25
    assert facts.founded_year == 2026 - 3
    assert facts_of("公司2025年注册", TODAY).founded_year == 2025
    assert facts_of("我们在本市", TODAY).local
    assert facts_of("我们是30人的小企业", TODAY).sizes == {"small"}
    assert facts_of("我们是中小企业", TODAY).sizes == {"medium", "small"}
    assert facts_of("We are a small company", TODAY).sizes == {"small"}
    # 市 or 区 that starts another word names no place: no region to judge.
    for question in (
        "承租市属国有企业经营用房的小微企业能申请吗？",
        "我们开拓海外市场，能申请吗？",
    ):
        assert facts_of(question, TODAY).places == ()
    assert facts_of("我们在北京市朝阳区", TODAY).places == ("北京市", "朝阳区")


def statuses(question: str, today: date = TODAY) -> dict[str, str]:
    return {c.category: c.status for c in build_checklist(question, CLAUSES, "示例市", today, "zh")}


def test_conditions_met_not_met_unknown() -> None:
    q = "我们是示例市的小微企业，成立3年，做餐饮的，有25名员工，能申请贷款贴息吗？"
    assert statuses(q) == {
        "size": "met", "region": "met", "industry": "met", "founded": "met",
        "headcount": "met", "amount": "unknown", "deadline": "met", "materials": "unknown",
    }  # fmt: skip
    q = "我们是合肥市的大型企业，2026年成立，做软件的，有300名员工，能申请贷款贴息吗？"
    assert statuses(q, date(2026, 5, 1)) == {
        "size": "not_met", "region": "not_met", "industry": "not_met", "founded": "not_met",
        "headcount": "not_met", "amount": "unknown", "deadline": "not_met", "materials": "unknown",
    }  # fmt: skip
    unknown = statuses("能申请贷款贴息吗？")
    assert {k: v for k, v in unknown.items() if k != "deadline"} == dict.fromkeys(
        ["size", "region", "industry", "founded", "headcount", "amount", "materials"], "unknown"
    )


def test_each_condition_quotes_its_clause_and_the_order_is_fixed() -> None:
    checklist = build_checklist("小微企业能申请吗", CLAUSES, "示例市", TODAY, "en")
    for c in checklist:
        assert c.text in dict((n, t) for n, t, _ in CLAUSES)[c.n]
    assert [c.category for c in checklist] == sorted(
        [c.category for c in checklist],
        key=["size", "region", "industry", "founded", "headcount", "amount", "deadline",
             "materials"].index,
    )  # fmt: skip
    # Another measure's amounts and industries are not this one's conditions.
    assert all(c.n != 5 for c in checklist)
    assert [c.text for c in checklist if c.category == "materials"] == [
        "企业申请支持应当提交以下材料：",
        "1. 申请表；",
        "2. 营业执照复印件。",
    ]
    assert checklist[0].reason == "the size you gave is covered"  # in the asker's language


def test_a_how_to_apply_question_gets_when_what_and_where_only() -> None:
    checklist = build_checklist(
        "我们是小微企业，贷款贴息怎么申请？", CLAUSES, "示例市", TODAY, "zh"
    )
    kinds = [c.category for c in checklist]
    assert set(kinds) == {"deadline", "materials", "channel"}  # no size, region or amount
    assert [c.text for c in checklist if c.category == "deadline"] == [CLAUSES[3][1]]
    assert checklist[0].status == "met"  # 3月15日 is within 3月1日至4月30日
    channel = [c for c in checklist if c.category == "channel"]
    # The sentence also names an amount: its first cue among the kinds asked about counts.
    assert [(c.n, c.status, c.reason) for c in channel] == [(6, "unknown", "按此方式提交")]
    eligibility = build_checklist(
        "我们是小微企业，能申请贷款贴息吗？", CLAUSES, "示例市", TODAY, "zh"
    )
    assert "channel" not in {c.category for c in eligibility}
