"""Policy-aware answers on the demo corpus with the real model: access labels inside retrieval,
policies in force on a day, clause-exact citations, eligibility checklists."""

from __future__ import annotations

from datetime import date

import pytest

from chatbot.answering.documents import Library
from chatbot.answering.questions import Turn
from chatbot.answering.service import AnswerConfig, AnswerService
from chatbot.ui.render import checklist_lines
from index_store.policy import Scope
from index_store.settings import Settings
from index_store.store import IndexStore
from policyqa.compose import build_retriever

Demo = tuple[IndexStore, Settings]
TODAY = date(2026, 6, 1)
PUBLIC = frozenset({"public"})
INTERNAL_QUESTIONS = [
    "单笔超过50万元的纾困资金由谁审批？",
    "纾困资金内部审批指引",
    "经办人员初审意见多久出具？",
    "分管副局长审批 局长办公会备案",
]


@pytest.fixture(scope="module")
def service(demo_store: Demo) -> AnswerService:
    store, settings = demo_store
    library = Library(store, today=lambda: TODAY)
    return AnswerService(build_retriever(settings, store), AnswerConfig(), library=library)


@pytest.mark.parametrize("question", INTERNAL_QUESTIONS)
def test_a_restricted_document_is_never_retrieved_cited_or_counted(
    service: AnswerService, question: str
) -> None:
    internal = {r.doc_id for r in service.library.records().values() if "internal" in r.info.labels}
    assert len(internal) == 1
    public = service.ask(question, scope=Scope(labels=PUBLIC, in_force_only=False))
    assert not {c.doc_id for c in public.citations} & internal
    assert "50万元的，须经分管副局长" not in public.answer
    hits = service.retriever.search(question, 20, service.library.filters(Scope(labels=PUBLIC)))
    assert hits and not {h.chunk.doc_id for h in hits} & internal
    assert not {r.doc_id for r in service.library.visible(PUBLIC)} & internal
    staff = service.ask(question, scope=Scope(labels=PUBLIC | {"internal"}))
    assert {c.doc_id for c in staff.citations} & internal


def test_a_repealed_policy_answers_only_with_a_warning(service: AnswerService) -> None:
    answer = service.ask("首次创业能拿到多少创业补贴？")
    assert not answer.refused and "3万元" in answer.answer
    assert answer.notice is not None and "已失效或已被替代" in answer.notice
    assert answer.as_of == "2026-06-01"
    (warning,) = answer.warnings
    assert "已被废止" in warning and "示政办〔2026〕3号" in warning
    back_then = service.ask("首次创业能拿到多少创业补贴？", scope=Scope(as_of=date(2025, 6, 1)))
    assert back_then.notice is None and back_then.warnings == ()
    assert back_then.basis == (
        "《示例市扶持小微企业创业发展办法》（示政办〔2024〕5号，2024-01-01 起施行，"
        "有效期至 2025-12-31）",
    )


def test_in_force_policies_are_preferred(service: AnswerService) -> None:
    answer = service.ask("稳岗返还的比例是多少？")
    assert answer.warnings == () and answer.notice is None
    assert answer.basis == (
        "《示例市支持中小微企业纾困发展若干措施》（示政办〔2026〕3号，2026-01-01 起施行，"
        "有效期至 2027-12-31）",
    )


def test_citations_name_the_clause_and_paragraph(service: AnswerService) -> None:
    answer = service.ask("申请贷款贴息的企业要成立多久？")
    first = answer.citations[0]
    assert first.clause == "第二章 第五条 第二款"
    assert first.quote.startswith("申请贴息的企业应成立满1年")
    text = service.library.store.document_text(first.doc_id)
    assert text is not None and text[first.quote_start : first.quote_end] == first.quote
    english = service.ask("How long do I have to return an unused item?")
    quoted = english.citations[0]
    # The innermost entry holding the whole quote: 2.1 alone, or Section 2 when 2.2 is quoted too.
    assert quoted.clause == ("Section 2" if "2.2 Opened items" in quoted.quote else "Section 2.1")
    assert english.basis == (
        "Example Store Refund and Warranty Policy (Version 2.1; effective 2026-02-01)",
    )


def test_an_eligibility_question_gets_a_cited_checklist(service: AnswerService) -> None:
    answer = service.ask(
        "我们是一家示例市的小微企业，成立3年，做餐饮的，能申请贷款贴息吗？",
        scope=Scope(as_of=date(2026, 3, 10)),
    )
    assert not answer.refused
    kinds = {c.category: c.status for c in answer.checklist}
    assert kinds["size"] == kinds["region"] == kinds["industry"] == kinds["founded"] == "met"
    assert kinds["deadline"] == "met"  # 3月1日至4月30日
    assert kinds["materials"] == "unknown"
    numbers = [c.n for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    by_n = {c.n: c for c in answer.citations}
    for condition in answer.checklist:  # every condition quotes its cited clause verbatim
        assert condition.text in by_n[condition.n].text
    assert "channel" not in kinds and checklist_lines(answer)[0] == "申请条件核对:"
    plain = service.ask("稳岗返还的比例是多少？")
    assert plain.checklist == ()


def test_a_how_to_apply_question_gets_the_deadline_materials_and_channel(
    service: AnswerService,
) -> None:
    answer = service.ask("稳岗返还怎么申请？", scope=Scope(as_of=date(2026, 5, 10)))
    assert not answer.refused and "60%予以返还" in answer.answer  # the measure itself first
    assert answer.citations[0].clause == "第二章 第四条"
    kinds = [(c.category, c.status) for c in answer.checklist]
    assert kinds[0] == ("deadline", "not_met")  # 3月1日至4月30日 is over on 5月10日
    assert {k for k, _ in kinds} == {"deadline", "materials", "channel"}
    by_n = {c.n: c for c in answer.citations}
    (channel,) = [c for c in answer.checklist if c.category == "channel"]
    # The citation quotes both paragraphs of 第七条 (the window, then the channel): 第七条 holds it.
    assert "示例市企业服务平台" in channel.text and by_n[channel.n].clause.endswith("第七条")
    materials = [c.text for c in answer.checklist if c.category == "materials"]
    assert "2. 营业执照复印件；" in materials
    assert {by_n[c.n].clause for c in answer.checklist if c.category == "materials"} == {
        "第三章 第六条"
    }
    for condition in answer.checklist:
        assert condition.text in by_n[condition.n].text
    assert checklist_lines(answer)[0] == "申请指引:"


@pytest.mark.parametrize(
    ("question", "quoted", "other_measure"),
    [
        ("Can I get my money back for an ebook I downloaded?", "2.3 Digital goods", "15%"),
        ("承租市属国有企业经营用房的小微企业能申请免房租吗？", "（一）承租市属", "20万元"),
    ],
)
def test_a_checklist_takes_a_measures_conditions_from_the_part_it_quotes(
    service: AnswerService, question: str, quoted: str, other_measure: str
) -> None:
    # The passage holds the next measure too (2.2 with its restocking fee, （二） with the
    # landlords' subsidy): its amount is not a condition of this one.
    answer = service.ask(question, scope=Scope(labels=PUBLIC))
    assert answer.citations[0].quote.startswith(quoted)
    assert other_measure in answer.citations[0].text
    assert not any(other_measure in c.text for c in answer.checklist)
    assert not any(c.category == "region" and c.status == "not_met" for c in answer.checklist)


def test_an_answer_that_quotes_a_repeal_gets_no_checklist(service: AnswerService) -> None:
    # In force, the start-up subsidy survives only in the clause that repeals its policy; the
    # measures' own procedure would read as the way to apply for it.
    answer = service.ask("小微企业创业补贴怎么申请？", scope=Scope(as_of=date(2026, 5, 10)))
    assert not answer.refused and "同时废止" in answer.citations[0].quote
    assert answer.checklist == ()


def test_a_refusal_searches_policies_out_of_force_only_when_the_scope_leaves_some_out(
    service: AnswerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    searched: list[object] = []
    search = service.retriever.search

    def counted(question: str, *args: object, **kwargs: object) -> object:
        searched.append(kwargs.get("filters"))
        return search(question, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service.retriever, "search", counted)
    question = "火星基地的租金补贴标准是多少？"
    service.retriever.query_vector.cache_clear()
    assert service.ask(question).refused
    assert len(searched) == 2  # the library holds a repealed policy: searched without it, then with
    embedded = service.retriever.query_vector.cache_info()
    assert (embedded.misses, embedded.hits) == (1, 1)  # the question is embedded once
    (in_force,) = [
        r.doc_id for r in service.library.records().values() if "纾困发展若干措施" in r.title
    ]
    searched.clear()
    assert service.ask(question, scope=Scope(doc_ids=(in_force,))).refused
    assert searched == [{"doc_id": [in_force]}]  # nothing out of force to widen to: one search


def test_a_question_about_the_library_lists_the_policies_in_scope(service: AnswerService) -> None:
    records = service.library.records()
    answer = service.ask("有哪些扶持政策？", scope=Scope(labels=PUBLIC))
    listed = [records[c.doc_id] for c in answer.citations]
    # In force on 2026-06-01, public, newest first: the repealed policy and the internal
    # guideline are not listed, and no passage about 扶持 is quoted instead.
    assert [r.info.effective for r in listed] == sorted(
        (r.info.effective for r in listed), reverse=True
    )
    assert {r.title for r in listed} == {
        "示例区高新技术企业培育奖励办法",
        "示例市支持中小微企业纾困发展若干措施",
        "Example Store Refund and Warranty Policy",
        "Example Cloud Support Service Level Agreement",
    }
    assert answer.answer.startswith("现行有效的政策文件共 4 份：")
    # Each with its 文号 and validity, the policy line the answers' basis shows.
    first = service.library.policy_line(listed[0], "zh")
    assert first.startswith(f"《{listed[0].title}》（") and f"1. {first}[1]" in answer.answer
    assert answer.basis == ()  # the list is the basis
    for c in answer.citations:  # each cites its document's opening line, where it stands
        text = service.retriever.store.document_text(c.doc_id) or ""
        assert c.quote and text.startswith(c.quote, c.quote_start)
        assert not text[: c.quote_start].strip()
    assert answer.warnings == ()
    english = service.ask("What policies do you have?", scope=Scope(labels=PUBLIC))
    assert english.answer.startswith("Policy documents in force: 4.")
    assert [(c.doc_id, c.quote) for c in english.citations] == [
        (c.doc_id, c.quote) for c in answer.citations
    ]
    back_then = service.ask("有哪些政策？", scope=Scope(labels=PUBLIC, as_of=date(2025, 6, 1)))
    assert "示例市扶持小微企业创业发展办法" in {
        records[c.doc_id].title for c in back_then.citations
    }
    staff = service.ask("有哪些政策？", scope=Scope(labels=PUBLIC | {"internal"}))
    assert len(staff.citations) == 5 and staff.answer.startswith("现行有效的政策文件共 5 份：")


def test_a_follow_up_to_the_list_asks_the_policy_at_that_place(service: AnswerService) -> None:
    scope = Scope(labels=PUBLIC)
    listing = service.ask("有哪些政策？", scope=scope)
    history = [Turn("user", "有哪些政策？"), Turn("assistant", listing.answer)]
    (place,) = [c.n for c in listing.citations if c.title == "示例区高新技术企业培育奖励办法"]
    ordinal = "一二三四"[place - 1]
    answer = service.ask(f"第{ordinal}个政策的申请条件是什么？", history=history, scope=scope)
    assert answer.question == f"第{ordinal}个政策的申请条件是什么？"
    assert not answer.refused and {c.title for c in answer.citations} == {
        "示例区高新技术企业培育奖励办法"
    }
    assert "注册地" in answer.answer  # its 申请条件, which the question alone does not name
    alone = service.ask(f"第{ordinal}个政策的申请条件是什么？", scope=scope)
    assert {c.title for c in alone.citations} != {"示例区高新技术企业培育奖励办法"}


def test_a_kind_of_enterprise_is_answered_by_the_policies_that_name_it(
    service: AnswerService,
) -> None:
    # The repealed policy's title holds every word of the question; the clause that repeals it
    # is no answer to what a small business may get.
    scope = Scope(labels=PUBLIC)
    answer = service.ask("小微企业能享受哪些扶持？", scope=scope)
    assert not answer.refused and answer.basis == ()
    assert answer.answer.startswith("现行有效的政策文件中，写到小微企业的共 1 份：")
    assert "[1]：房租减免、稳岗返还、贷款贴息" in answer.answer
    assert "同时废止" not in answer.answer
    (cited,) = answer.citations
    assert cited.title == "示例市支持中小微企业纾困发展若干措施"
    assert cited.quote.startswith("第一条 本措施适用于") and cited.clause.endswith("第一条")
    assert cited.text[cited.quote_start - cited.start : cited.quote_end - cited.start] == (
        cited.quote
    )
    history = [Turn("user", "小微企业能享受哪些扶持？"), Turn("assistant", answer.answer)]
    follow_up = service.ask("第一个政策的申报材料有哪些？", history=history, scope=scope)
    assert {c.title for c in follow_up.citations} == {"示例市支持中小微企业纾困发展若干措施"}
    assert "营业执照复印件" in follow_up.answer
    # Asked in English by a foreign-invested company: the same list, framed in English.
    english = service.ask("What support can small businesses get?", scope=scope)
    assert english.answer.startswith("Policy documents in force that mention 小微企业: 1.")
    assert [(c.doc_id, c.quote) for c in english.citations] == [(cited.doc_id, cited.quote)]
    may = service.ask("小微企业能申请吗？", scope=scope)
    assert [(c.doc_id, c.quote) for c in may.citations] == [(cited.doc_id, cited.quote)]
    # One policy and nothing to list but its title: its clauses answer.
    award = service.ask("高新技术企业有什么奖励？", scope=scope)
    assert "30万元奖励" in award.answer and "写到" not in award.answer


def test_the_policies_no_longer_in_force_are_listed_with_what_replaced_them(
    service: AnswerService,
) -> None:
    scope = Scope(labels=PUBLIC)
    lapsed = service.ask("哪些政策已经失效了？", scope=scope)
    assert not lapsed.refused
    assert lapsed.answer.startswith("已失效或已被废止的政策文件共 1 份：")
    assert [c.title for c in lapsed.citations] == ["示例市扶持小微企业创业发展办法"]
    (warning,) = lapsed.warnings
    assert "已被废止" in warning and "示政办〔2026〕3号" in warning
    english = service.ask("Which policies have expired?", scope=scope)
    assert [c.doc_id for c in english.citations] == [c.doc_id for c in lapsed.citations]
    # In force on the day asked about: none had lapsed then.
    back_then = service.ask(
        "哪些政策已经失效了？", scope=Scope(labels=PUBLIC, as_of=date(2025, 6, 1))
    )
    assert not back_then.refused and back_then.citations == ()
    assert "没有已失效" in back_then.answer
    # A place in that list is the lapsed policy, answered with its warning.
    history = [Turn("user", "哪些政策已经失效了？"), Turn("assistant", lapsed.answer)]
    first = service.ask("第一个政策的补贴是多少？", history=history, scope=scope)
    assert not first.refused and "3万元" in first.answer
    assert {c.title for c in first.citations} == {"示例市扶持小微企业创业发展办法"}
    assert any("已被废止" in w for w in first.warnings)
