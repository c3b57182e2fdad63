"""The LLM path over real HTTP against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest

from chatbot.answering.citations import CitationStreamFilter, unverified_numbers
from chatbot.answering.llm import LLMClient, LLMConfig
from chatbot.answering.questions import Turn
from chatbot.answering.service import AnswerConfig, AnswerService
from index_store.policy import Scope
from index_store.records import Answer
from index_store.reranker.factory import LazyJudge
from index_store.settings import Settings
from index_store.store import IndexStore
from policyqa.compose import build_answer_service, build_retriever
from tests.openai_stub import ScriptedOpenAI

Demo = tuple[IndexStore, Settings]
QUESTION = "稳岗返还的比例是多少？"


@pytest.fixture
def make_service(demo_store: Demo) -> Iterator[object]:
    store, settings = demo_store
    stubs: list[ScriptedOpenAI] = []

    def make(
        script: list[tuple[object, ...]], **llm: object
    ) -> tuple[AnswerService, ScriptedOpenAI]:
        stub = ScriptedOpenAI(script).start()
        stubs.append(stub)
        config = LLMConfig(model="deepseek-chat", base_url=stub.url, api_key="sk-test", **llm)  # type: ignore[arg-type]
        service = AnswerService(
            build_retriever(settings, store), AnswerConfig(top_k=4), LLMClient(config),
            judge=LazyJudge(),
        )  # fmt: skip
        return service, stub

    yield make
    for stub in stubs:
        stub.stop()


@pytest.mark.slow
def test_streamed_answer_with_citations(make_service) -> None:  # type: ignore[no-untyped-def]
    service, stub = make_service(
        [("stream", ["按上年度实际缴纳失业保险费的", "60%予以返还[", "1]。"])]
    )
    events = list(service.stream(QUESTION))
    deltas = [e for e in events if isinstance(e, str)]
    answer = events[-1]
    assert isinstance(answer, Answer)
    assert answer.mode == "llm" and not answer.refused and answer.notice is None
    assert "".join(deltas) == answer.answer == "按上年度实际缴纳失业保险费的60%予以返还[1]。"
    assert len(deltas) >= 2  # streamed, not one block
    assert [c.n for c in answer.citations] == [1]
    request = stub.requests[0]
    assert request["model"] == "deepseek-chat" and request["stream"] is True
    assert request["max_tokens"] == 800
    assert (
        "[1]" in request["messages"][1]["content"] and QUESTION in request["messages"][1]["content"]
    )
    assert stub.headers[0].get("authorization") == "Bearer sk-test"


def test_the_model_judges_deadlines_against_the_day_asked_about(make_service) -> None:  # type: ignore[no-untyped-def]
    service, stub = make_service([("stream", ["返还60%[1]"])] * 2)
    service.ask(QUESTION)
    assert f"Today is {date.today().isoformat()}:" in stub.requests[0]["messages"][0]["content"]
    service.ask(QUESTION, scope=Scope(as_of=date(2026, 6, 1)))
    assert "Today is 2026-06-01:" in stub.requests[1]["messages"][0]["content"]


def test_unknown_citation_numbers_are_dropped(make_service) -> None:  # type: ignore[no-untyped-def]
    service, _ = make_service([("stream", ["返还比例为60%[1][", "9]，另见[42]。"])])
    answer = service.ask(QUESTION)
    assert answer.answer == "返还比例为60%[1]，另见。"
    assert [c.n for c in answer.citations] == [1]


def test_numbers_missing_from_cited_passages_are_flagged(make_service) -> None:  # type: ignore[no-untyped-def]
    service, _ = make_service([("text", "返还比例为75%，最高999万元[1]。")])
    answer = service.ask(QUESTION)
    assert answer.warnings and "75%" in answer.warnings[0] and "999" in answer.warnings[0]
    assert "60%" not in answer.warnings[0]


TRUE_SENTENCE = (
    "对上年度不裁员或裁员率不高于5.5%的中小微企业，按上年度实际缴纳失业保险费的60%予以返还。"
)


@pytest.mark.parametrize(
    "altered",
    [
        TRUE_SENTENCE.replace("60%", "80%"),  # a changed amount
        TRUE_SENTENCE.replace("上年度", "2019年度", 1),  # a changed date
        "企业还可以免费获得一套办公家具。",  # a claim the passage never makes
    ],
)
def test_sentences_their_citation_does_not_support_are_flagged(make_service, altered: str) -> None:  # type: ignore[no-untyped-def]
    service, _ = make_service([("text", f"{TRUE_SENTENCE}[1]{altered}[1]")])
    answer = service.ask(QUESTION)
    assert "第四条" in answer.citations[0].locator
    assert answer.unsupported == (altered,)
    assert answer.faithfulness == 0.5
    assert any(altered in w for w in answer.warnings)


def test_a_faithful_llm_answer_is_not_flagged(make_service) -> None:  # type: ignore[no-untyped-def]
    service, _ = make_service([("text", f"根据现有政策文件：\n{TRUE_SENTENCE}[1]")])
    answer = service.ask(QUESTION)
    assert answer.unsupported == () and answer.faithfulness == 1.0


def test_rate_limit_then_success_is_retried(make_service) -> None:  # type: ignore[no-untyped-def]
    service, stub = make_service(
        [("status", 429, {"retry-after": "0"}), ("stream", ["60%予以返还[1]"])], max_retries=2
    )
    answer = service.ask(QUESTION)
    assert answer.mode == "llm" and answer.answer == "60%予以返还[1]"
    assert len(stub.requests) == 2


def test_timeout_falls_back_to_extractive_with_a_notice(make_service) -> None:  # type: ignore[no-untyped-def]
    service, stub = make_service([("hang", 5), ("hang", 5)], timeout_s=0.5, max_retries=1)
    started = time.monotonic()
    answer = service.ask(QUESTION)
    assert time.monotonic() - started < 4.5
    assert answer.mode == "extractive" and not answer.refused
    assert "60%" in answer.answer and answer.citations
    assert answer.notice is not None and "大模型" in answer.notice  # in the question's language
    assert len(stub.requests) == 2  # one try plus one bounded retry


def test_unauthorized_falls_back_without_retrying(make_service) -> None:  # type: ignore[no-untyped-def]
    service, stub = make_service([("status", 401, {}), ("stream", ["never"])], max_retries=3)
    answer = service.ask("How long is the warranty on electronics?")
    assert answer.mode == "extractive" and "2-year limited warranty" in answer.answer
    assert answer.notice is not None and "unavailable" in answer.notice
    assert len(stub.requests) == 1


@pytest.mark.parametrize(
    ("failure", "requests"),
    [
        (("status", 429, {}), 2),  # rate limited, no retry-after: one bounded retry
        (("status", 500, {}), 2),
        (("status", 503, {"retry-after": "0"}), 2),
        (("status", 404, {}), 1),  # unknown model: retrying cannot help
        (("status", 400, {}), 1),
    ],
)
def test_endpoint_failures_are_bounded_then_extractive(  # type: ignore[no-untyped-def]
    make_service, failure: tuple[object, ...], requests: int
) -> None:
    service, stub = make_service([failure, failure, ("stream", ["never"])], max_retries=1)
    started = time.monotonic()
    answer = service.ask(QUESTION)
    assert time.monotonic() - started < 20  # inside a deadline, whatever the endpoint says
    assert answer.mode == "extractive" and "60%予以返还" in answer.answer
    assert answer.notice is not None and "不可用" in answer.notice
    assert len(stub.requests) == requests


def test_stream_dropped_mid_answer_falls_back_once(make_service) -> None:  # type: ignore[no-untyped-def]
    service, stub = make_service(
        [("drop", ["按上年度", "实际缴纳"]), ("stream", ["x"])], max_retries=2
    )
    answer = service.ask(QUESTION)
    assert answer.mode == "extractive" and answer.notice
    assert len(stub.requests) == 1  # a broken stream is not silently paid for again


def test_model_refusal_is_marked_refused(make_service) -> None:  # type: ignore[no-untyped-def]
    service, _ = make_service([("stream", ["现有政策文件中没有相关规定。"])])
    answer = service.ask(QUESTION)
    assert answer.refused and answer.citations == ()


def test_follow_up_is_condensed_by_the_llm(make_service) -> None:  # type: ignore[no-untyped-def]
    service, stub = make_service(
        [("text", "高新技术企业认定奖励的审核需要多久？"), ("stream", ["15个工作日[1]"])]
    )
    history = [
        Turn("user", "高新技术企业认定奖励怎么申请？"),
        Turn("assistant", "向区科学技术局申请[1]"),
    ]
    answer = service.ask("那审核要多久？", history)
    assert "Last question: 那审核要多久？" in stub.requests[0]["messages"][0]["content"]
    assert stub.requests[0].get("stream") in (None, False)
    assert (
        "Question: 高新技术企业认定奖励的审核需要多久？"
        in stub.requests[1]["messages"][1]["content"]
    )
    assert any("15个工作日" in c.text for c in answer.citations)


def test_a_swapping_follow_up_falls_back_to_what_the_question_before_asked(make_service) -> None:  # type: ignore[no-untyped-def]
    # The condensed query is the model's own wording; the fallback's quote still answers the
    # earlier question for the part the follow-up swaps, not the sentence sharing most words.
    service, _ = make_service(
        [("text", "Standard customers first response time"), ("status", 401, {})]
    )
    first = "What is the first response time for severity 1 incidents?"
    history = [Turn("user", first), Turn("assistant", "1 hour for Premium[1]")]
    answer = service.ask("And for Standard customers?", history)
    assert answer.mode == "extractive" and not answer.refused
    assert "4 hours for Standard" in answer.answer and "Monday to Friday" not in answer.answer


def test_a_positional_follow_up_gives_the_model_the_next_article_first(make_service) -> None:  # type: ignore[no-untyped-def]
    service, stub = make_service(
        [("text", "稳岗返还的下一条规定了什么？"), ("stream", ["第五条规定贷款贴息[1]"])]
    )
    history = [Turn("user", QUESTION), Turn("assistant", "60%予以返还[1]")]
    answer = service.ask("下一条呢？", history)
    prompt = stub.requests[1]["messages"][1]["content"]
    first = prompt[prompt.index("[1]") : prompt.index("[2]")]
    assert "第五条 贷款贴息" in first and "第四条" not in first
    assert answer.citations[0].locator.endswith("第五条 贷款贴息")


def test_settings_without_a_model_keep_extractive_with_a_notice(demo_store: Demo) -> None:
    store, settings = demo_store
    configured = settings.model_copy(update={"openai_base_url": "http://127.0.0.1:9/v1"})
    answer = build_answer_service(configured, store).ask(QUESTION)
    assert answer.mode == "extractive" and answer.notice and "POLICYQA_LLM_MODEL" in answer.notice


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["a[1]b"], "a[1]b"),
        (["a[", "1", "]b"], "a[1]b"),
        (["a[7]b"], "ab"),
        (["a[", "12", "]"], "a"),
        (["see [x] and [", "]"], "see [x] and []"),
        (["tail ["], "tail ["),
        (["[1][2][3]"], "[1][2]"),
    ],
)
def test_citation_stream_filter(pieces: list[str], expected: str) -> None:
    f = CitationStreamFilter(valid={1, 2})
    assert "".join(f.feed(p) for p in pieces) + f.flush() == expected


def test_unverified_numbers_ignore_citation_marks() -> None:
    assert unverified_numbers("补贴50%[2]，最高20万元[3]。", ["补贴50%", "最高20万元"]) == []
    assert unverified_numbers("2026年5月31日前", ["2026年6月30日前"]) == ["5", "31"]


def test_llm_answers_to_eligibility_questions_keep_a_cited_checklist(make_service) -> None:  # type: ignore[no-untyped-def]
    question = "我们是示例市的小微企业，做餐饮的，能申请贷款贴息吗？"
    service, _ = make_service([("stream", ["可以申请，需成立满1年[2]。"])])
    answer = service.ask(question)
    assert answer.mode == "llm" and answer.answer == "可以申请，需成立满1年[2]。"
    assert answer.citations[0].n == 2  # the model's own mark keeps its number
    numbers = [c.n for c in answer.citations]
    assert numbers == sorted(set(numbers)) and numbers[1:] == list(range(3, len(numbers) + 2))
    by_n = {c.n: c for c in answer.citations}
    kinds = {c.category for c in answer.checklist}
    assert {"size", "region", "materials"} <= kinds
    for condition in answer.checklist:
        assert condition.text in by_n[condition.n].text
