"""Extractive answers, refusals and follow-ups on the demo corpus with the real model (and on
one notice ingested for its test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatbot.answering.evidence import RefusalPolicy
from chatbot.answering.questions import Turn, elliptical, follow_up_query, question_parts
from chatbot.answering.read_on import joined
from chatbot.answering.retrieval import HybridRetriever, RetrievalConfig
from chatbot.answering.service import AnswerConfig, AnswerService
from eval.run import shown_passages
from index_store.errors import InvalidQuestionError
from index_store.policy import Scope
from index_store.records import Chunk
from index_store.settings import Settings
from index_store.store import IndexStore
from ingest.pipeline import Ingestor, ingest_paths
from policyqa.compose import build_answer_service, build_retriever
from tests.conftest import HashingEmbedding

Demo = tuple[IndexStore, Settings]


@pytest.fixture
def service(demo_store: Demo) -> AnswerService:
    store, settings = demo_store
    return build_answer_service(settings, store)


@pytest.mark.parametrize(
    ("question", "must_contain", "locator_part"),
    [
        ("稳岗返还的比例是多少？", "实际缴纳失业保险费的60%予以返还", "第四条 稳岗返还"),
        (
            "单户企业年度贷款贴息总额最多多少？",
            "单户企业年度贴息总额不超过100万元",
            "第五条 贷款贴息",
        ),
        ("申请纾困支持需要提交哪些材料？", "2. 营业执照复印件；", "第六条 申报材料"),
        ("申报截止时间是哪天？", "申报时间为每年3月1日至4月30日", "第七条 申报时间"),
        # 需要 occurs in no passage; the list of materials answers the words that ask for it.
        ("申报需要哪些材料？", "2. 营业执照复印件；", "第六条 申报材料"),
        (
            "How long is the warranty on electronics?",
            "2-year limited warranty",
            "Section 3 Warranty",
        ),
        # The sentence with the question's words comes second in its paragraph.
        ("What does the warranty cover?", "2-year limited warranty", "Section 3 Warranty"),
        (
            "What credit do I get if uptime drops below 99.0%?",
            "a credit of 25%",
            "Section 3 Service credits",
        ),
    ],
)
def test_extractive_answer_quotes_and_cites_the_passage(
    service: AnswerService, question: str, must_contain: str, locator_part: str
) -> None:
    answer = service.ask(question)
    assert (answer.mode, answer.refused) == ("extractive", False)
    assert must_contain in answer.answer
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    # A how-to-apply question's checklist may cite clauses the answer does not.
    assert marks | {c.n for c in answer.checklist} == {c.n for c in answer.citations}
    cited = next(c for c in answer.citations if must_contain.split("\n")[0] in c.text)
    assert locator_part in cited.locator
    # Verbatim: every quoted sentence is in the cited passage, every number in a citation.
    for c in answer.citations:
        assert all(line in c.text for line in c.quote.split("\n"))
    body = re.sub(r"\[\d+\]", "", answer.answer)
    for number in re.findall(r"\d+(?:\.\d+)?%?", body):
        assert any(number in c.text for c in answer.citations), number


def test_a_list_at_its_passage_end_stops_with_its_article(service: AnswerService) -> None:
    # 第六条's list ends its passage; 第七条 in the next passage is another article.
    answer = service.ask("申请纾困支持需要提交哪些材料？")
    assert "4. 上年度失业保险缴费证明。" in answer.answer
    assert "申报时间为" not in answer.answer


def test_a_time_limit_answers_when_and_its_section_is_cited(service: AnswerService) -> None:
    # Not the date the measure took effect ("本办法自2026年3月1日起施行"), which shares its passage:
    # the short sections 四 and 五 merge into one chunk whose heading path is only the title.
    answer = service.ask("高新技术企业奖励什么时候发？")
    assert "15个工作日内完成审核" in answer.answer and "起施行" not in answer.answer
    (cited,) = [c for c in answer.citations if "15个工作日内" in c.quote]
    assert cited.clause == "四、办理流程"


def test_answer_language_follows_the_question(service: AnswerService) -> None:
    assert service.ask("稳岗返还的比例是多少？").answer.startswith("根据现有政策文件")
    assert service.ask("How long is the warranty on electronics?").answer.startswith("According to")


def test_an_answer_from_passages_that_match_in_part_says_so(service: AnswerService) -> None:
    # The refund policy says nothing of gifts or receipts: its closest passage is quoted, as
    # what may not answer in full; the question it answers is answered plainly.
    near = service.ask("Can I return a gift without a receipt?")
    assert near.partial and not near.refused and near.citations
    assert near.answer.startswith("The policy documents may not answer this in full.")
    plain = service.ask("How long do I have to return an item?")
    assert not plain.partial and plain.answer.startswith("According to the policy documents:")
    assert "30 days" in plain.answer


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "重新认定能拿多少，同时还能拿首次认定奖励吗？",
            ["重新认定能拿多少", "还能拿首次认定奖励吗？"],
        ),
        ("什么是汛期？北京的汛期日期是什么范围？", ["什么是汛期？", "北京的汛期日期是什么范围？"]),
        (
            "How long is the warranty? And what about refunds?",
            ["How long is the warranty?", "what about refunds?"],
        ),
        ("What is covered, and how do I claim?", ["What is covered", "how do I claim?"]),
        # A condition is part of the one question; a question mark inside quotes ends nothing.
        ("如果是小微企业，能拿多少补贴？", ["如果是小微企业，能拿多少补贴？"]),
        ("何时推行“一码通？”", ["何时推行“一码通？”"]),
    ],
)
def test_a_question_that_asks_two_things_is_told_apart(question: str, parts: list[str]) -> None:
    assert question_parts(question) == parts


@pytest.mark.parametrize(
    "question",
    ["重新认定能拿多少，同时还能拿首次认定奖励吗？", "重新认定能拿多少，同时首次认定奖励多少？"],
)
def test_a_question_that_asks_two_things_is_answered_though_no_sentence_holds_both(
    service: AnswerService, question: str
) -> None:
    # Each part is answered by its own clause; no one sentence covers the words of both, and
    # judged as one question they were refused, or answered as perhaps not in full.
    answer = service.ask(question)
    assert (answer.refused, answer.partial) == (False, False)
    assert "给予10万元奖励" in answer.answer and "一次性给予30万元奖励" in answer.answer


@pytest.mark.parametrize(
    ("question", "refusal"),
    [
        ("法国的首都是哪座城市？", "现有政策文件中未找到"),
        ("北京市住房公积金贷款最高额度是多少？", "现有政策文件中未找到"),
        ("What is the capital of France?", "don't cover"),
        ("How do I reset my router password?", "don't cover"),
    ],
)
def test_out_of_scope_questions_are_refused_with_related_passages(
    service: AnswerService, question: str, refusal: str
) -> None:
    answer = service.ask(question)
    assert answer.refused
    assert refusal in answer.answer
    assert answer.citations  # shown as "possibly related"
    assert ("可能相关" in answer.answer) or ("Possibly related" in answer.answer)


def test_follow_up_carries_the_previous_topic(service: AnswerService) -> None:
    history = [Turn("user", "高新技术企业认定奖励怎么申请？"), Turn("assistant", "…")]
    answer = service.ask("那审核要多久？", history)
    assert not answer.refused
    assert "15个工作日" in answer.answer


def test_a_run_of_follow_ups_keeps_the_topic_it_began_with(service: AnswerService) -> None:
    history = [
        Turn("user", "贷款贴息是怎么规定的？"),
        Turn("assistant", "…"),
        Turn("user", "最多贴多少？"),
        Turn("assistant", "…"),
    ]
    answer = service.ask("最长贴多久？", history)
    assert not answer.refused
    assert "贴息期限不超过1年" in answer.answer


def test_follow_up_query_heuristic() -> None:
    history = [Turn("user", "稳岗返还的比例是多少？")]
    assert (
        follow_up_query("那申报截止时间呢？", history)
        == "稳岗返还的比例是多少？ 那申报截止时间呢？"
    )
    long_question = "小微企业如何申请首次认定高新技术企业奖励资金？"
    assert follow_up_query(long_question, history) == long_question
    # However long, a follow-up that only swaps a part asks about the topic before it.
    swap = "对于从外地整体迁入本市的高新技术企业呢？"
    assert follow_up_query(swap, history) == f"稳岗返还的比例是多少？ {swap}"
    assert follow_up_query(
        "What about digital goods?", [Turn("user", "Refund window?")]
    ).startswith("Refund window?")
    assert follow_up_query("那截止时间呢？", []) == "那截止时间呢？"
    run = [Turn("user", "房租减免有哪些规定？"), Turn("assistant", "…"), Turn("user", "国企的呢？")]
    assert follow_up_query("最多补多少？", run) == "房租减免有哪些规定？ 国企的呢？ 最多补多少？"
    # A question of its own ends the run.
    assert follow_up_query("最多补多少？", [*run, Turn("user", long_question)]) == (
        f"{long_question} 最多补多少？"
    )


def test_a_follow_up_that_only_swaps_a_part_is_told_from_one_that_asks() -> None:
    for swapped in (
        "And for Standard customers?",
        "What about severity 2?",
        "重新认定呢？",
        "国企的呢",
    ):
        assert elliptical(swapped), swapped
    for asks in (
        "那怎么申请？",
        "那申报截止时间是什么时候呢？",
        "What about the deadline, when is it?",
        "For the next item, are family plans covered?",
    ):
        assert not elliptical(asks), asks
    assert not elliptical("贷款贴息需要什么条件？")


@pytest.mark.parametrize(
    ("run", "quoted", "not_quoted"),
    [
        # "Standard" and "customer" are also in the support-hours sentence; the follow-up asks
        # what the question before it asked, for Standard.
        (
            [
                "What is the first response time for severity 1 incidents?",
                "And for Standard customers?",
            ],
            "4 hours for Standard",
            "Monday to Friday",
        ),
        (["首次认定高企奖励多少？", "重新认定呢？"], "10万元", "30万元"),
        # Not a swap, but the same run: how to apply is the procedure, not the conditions list.
        (["首次认定高企奖励多少？", "那怎么申请？"], "向区科学技术局提出申请", "未被列入严重失信"),
        (["首次认定高企奖励多少？", "重新认定呢？", "从外地迁入的呢？"], "20万元", "10万元"),
        (
            ["What's the refund window for opened items?", "And for digital goods?"],
            "non-refundable once downloaded",
            "restocking fee",
        ),
    ],
)
def test_a_follow_up_is_answered_for_what_it_asks(
    service: AnswerService, run: list[str], quoted: str, not_quoted: str
) -> None:
    history: list[Turn] = []
    for question in run[:-1]:
        history += [
            Turn("user", question),
            Turn("assistant", service.ask(question, history).answer),
        ]
    answer = service.ask(run[-1], history)
    assert not answer.refused
    assert quoted in answer.answer and not_quoted not in answer.answer, answer.answer


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01", "问" * 2001])
def test_bad_questions_are_clear_errors(service: AnswerService, question: str) -> None:
    with pytest.raises(InvalidQuestionError):
        service.ask(question)


def test_filters_reach_the_answer(demo_store: Demo) -> None:
    store, settings = demo_store
    sla = next(d.source for d in store.documents() if d.source.endswith("support-sla.md"))
    service = AnswerService(build_retriever(settings, store), AnswerConfig(top_k=3), None, None)
    answer = service.ask("refund within 30 days", scope=Scope(sources=(sla,)))
    assert {c.source for c in answer.citations} == {sla}
    assert RetrievalConfig().top_k == 5


NOTICE = """示例市人民政府办公室关于延长春节假期的通知
各区人民政府，市政府各部门：
为做好疫情防控工作，有效减少人员聚集，阻断疫情传播，更好保障人民群众生命安全和身体健康，经市政府同意，现将延长春节假期的具体安排通知如下：
一、假期安排
延长春节假期至2月2日（星期日），2月3日（星期一）起正常上班。各单位要提前告知职工，做好返岗前的准备。
二、工资待遇
因疫情防控不能休假的职工，应根据《劳动法》规定安排补休，未休假期的工资报酬应按照有关政策保障落实。
"""


def _passages_of(text: str, ingestor: Ingestor, store: IndexStore, tmp_path: Path) -> list[Chunk]:
    """``text`` ingested as a document of its own: its passages, in order."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notice.txt").write_text(text, encoding="utf-8")
    assert not ingest_paths([tmp_path / "d"], ingestor).failed
    return store.document_chunks(store.documents()[0].doc_id)


def test_an_answer_that_ends_its_passage_on_ru_xia_goes_on_in_the_next(
    ingestor: Ingestor, store: IndexStore, tmp_path: Path
) -> None:
    first, second = _passages_of(NOTICE, ingestor, store, tmp_path)
    assert first.text.endswith("通知如下：") and second.text.startswith("一、假期安排")
    # One passage retrieved: the one that ends on the list's introduction.
    retriever = HybridRetriever(store, HashingEmbedding(), RetrievalConfig(top_k=1))
    answer = AnswerService(retriever, AnswerConfig(top_k=1)).ask("春节假期的具体安排通知")
    assert not answer.refused
    assert "2月3日（星期一）起正常上班" in answer.answer
    # One quote, one citation: the passage it starts in, reaching into the next one, so the
    # document view marks the whole quote.
    assert [(c.n, c.chunk_id) for c in answer.citations] == [(1, first.chunk_id)]
    cited = answer.citations[0]
    assert cited.quote_start < first.end < cited.quote_end <= second.end
    marked = store.document_text(first.doc_id)[cited.quote_start : cited.quote_end]
    assert marked.startswith("为做好疫情防控工作") and marked.endswith(cited.quote[-10:])
    assert (
        answer.answer.index("如下：") < answer.answer.index("正常上班") < answer.answer.index("[1]")
    )
    # The eval judges the passage as shown, so a reference in the second passage is cited.
    ((shown,),) = shown_passages(answer.citations, store)
    assert "正常上班" in shown.text and (shown.start, shown.end) == (first.start, second.end)


class ReadCounter:
    """A passage reader that counts what the service reads through it."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store
        self.read: list[str] = []

    def chunks(self, chunk_ids: list[str]) -> dict[str, object]:
        self.read.append("chunks")
        return self.store.chunks(chunk_ids)  # type: ignore[return-value]

    def document_text(self, doc_id: str) -> str | None:
        self.read.append("document_text")
        return self.store.document_text(doc_id)

    def document_chunks(self, doc_id: str) -> list[object]:
        self.read.append("document_chunks")
        return self.store.document_chunks(doc_id)  # type: ignore[return-value]

    def document_structure(self, doc_id: str) -> object:
        self.read.append("document_structure")
        return self.store.document_structure(doc_id)

    def keyword_index(self) -> object:
        self.read.append("keyword_index")
        return self.store.keyword_index()


def test_the_service_reads_passages_through_its_reader(
    ingestor: Ingestor, store: IndexStore, tmp_path: Path
) -> None:
    _passages_of(NOTICE, ingestor, store, tmp_path)
    retriever = HybridRetriever(store, HashingEmbedding(), RetrievalConfig(top_k=1))
    reader = ReadCounter(store)
    service = AnswerService(retriever, AnswerConfig(top_k=1), passages=reader)  # type: ignore[arg-type]
    answer = service.ask("春节假期的具体安排通知")
    # The next passage (read on past "如下：") and the keyword statistics came through it.
    assert "2月3日（星期一）起正常上班" in answer.answer
    assert {"chunks", "keyword_index"} <= set(reader.read)


GUIDE = (
    "示例市税费优惠政策指引\n一、支持防护救治\n"
    + "1.取得政府规定标准的疫情防治临时性工作补助和奖金免征个人所得税。"
    + "补助和奖金的标准按照国家和本市的有关规定执行，由发放单位代扣代缴时一并办理。" * 8
    + "\n二、支持物资供应\n"
    + "3.对疫情防控重点保障物资生产企业全额退还增值税增量留抵税额。"
    + "企业可以按月向主管税务机关申请退还，名单由发展改革部门和工业和信息化部门确定。" * 8
    + "\n"
)


def test_a_passage_of_headings_only_reads_on_into_what_they_head(
    ingestor: Ingestor, store: IndexStore, tmp_path: Path
) -> None:
    chunks = _passages_of(GUIDE, ingestor, store, tmp_path)
    (bare,) = [c for c in chunks if c.text == "二、支持物资供应"]
    following = chunks[bare.ordinal + 1]
    # The heading's passage is what the search finds first; its content is in the next one.
    retriever = HybridRetriever(store, HashingEmbedding(), RetrievalConfig(top_k=1))
    question = "哪些税费优惠措施支持物资供应？"
    assert [h.chunk.chunk_id for h in retriever.search(question)] == [bare.chunk_id]
    # The hashing embedder's similarities mean nothing: refusal is not what this tests.
    never = {language: RefusalPolicy(0.0, 0.0) for language in ("zh", "en")}
    service = AnswerService(retriever, AnswerConfig(top_k=1, refusal=never))
    answer = service.ask(question)
    assert not answer.refused and "全额退还增值税增量留抵税额" in answer.answer
    (cited,) = answer.citations
    assert cited.chunk_id == bare.chunk_id and following.start <= cited.quote_start
    assert store.document_text(bare.doc_id)[cited.quote_start :].startswith("3.对疫情防控")
    # A quote that reaches the end of both reads on after them, not into the second again.
    assert service.finder.next_chunk(joined(bare, following)) == chunks[bare.ordinal + 2]
