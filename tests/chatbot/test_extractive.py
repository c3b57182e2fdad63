"""Sentence selection for extractive answers: what a chosen sentence brings along, how titles
and headings count, and that a sentence is quoted once."""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import pairwise

import pytest

from chatbot.answering.asking import (
    asked_for,
    asking_tokens,
    asks_subjects,
    question_tokens,
    unframed,
)
from chatbot.answering.extractive import (
    CONTINUE_CHARS,
    LEAD_IN_CHARS,
    LIST_LINES,
    LIST_QUESTION_REACH,
    reach,
    score_sentences,
    select_sentences,
    split_sentences,
)
from chatbot.answering.read_on import run_on
from chatbot.answering.synonyms import same_words
from index_store.records import Chunk, Hit


def answer_pattern(question: str) -> re.Pattern[str] | None:
    """What a sentence that gives the kind of answer ``question`` asks for holds."""
    asked = asked_for(question)
    return asked.holds if asked else None


def _hit(text: str, path: tuple[str, ...] = ("通知",), n: int = 0) -> Hit:
    chunk = Chunk(
        chunk_id=f"c{n}",
        doc_id=f"d{n}",
        ordinal=0,
        text=text,
        start=0,
        end=len(text),
        heading_path=path,
        page=None,
        source=f"s{n}",
        title=path[0],
    )
    return Hit(chunk=chunk, score=1.0)


def _texts(question: str, hits: list[Hit], max_sentences: int = 1) -> list[str]:
    return [s.text for s in select_sentences(question, hits, max_sentences)]


SCENE = "农业农村部启动开展防控疫情专项法治宣传行动。"
ANSWER = "此次行动注重以案释法，注重运用新媒体。"
OTHER_ITEM = "二、其他事项。"


def test_the_sentences_after_the_best_one_come_along() -> None:
    hits = [_hit(SCENE + ANSWER + "各地要认真落实。")]
    assert _texts("农业农村部启动开展的专项法治宣传行动注重哪些方面？", hits) == [
        SCENE,
        ANSWER,
        "各地要认真落实。",
    ]


def test_the_continuation_stops_at_a_new_numbered_item_and_at_its_length() -> None:
    assert _texts("农业农村部启动开展的专项法治宣传行动", [_hit(SCENE + OTHER_ITEM + ANSWER)]) == [
        SCENE
    ]
    text = SCENE + "".join(f"这里的第{i}句话写明了本次行动的背景。\n" for i in range(20))
    chosen = _texts("农业农村部启动开展的专项法治宣传行动", [_hit(text)])
    assert chosen[0] == SCENE
    assert sum(len(t) for t in chosen[:-1]) < CONTINUE_CHARS <= sum(len(t) for t in chosen)


def test_a_question_that_asks_for_a_list_reads_on_farther() -> None:
    assert reach("农业农村部开展了哪些专项法治宣传行动？") == LIST_QUESTION_REACH
    assert reach("What are the steps?") == LIST_QUESTION_REACH
    assert reach("农业农村部启动开展的专项法治宣传行动是什么？") == 1.0
    text = SCENE + "".join(f"这里的第{i}句话写明了本次行动的背景。\n" for i in range(20))
    chosen = _texts("农业农村部启动开展了哪些专项法治宣传行动", [_hit(text)])
    limit = LIST_QUESTION_REACH * CONTINUE_CHARS
    assert sum(len(t) for t in chosen[:-1]) < limit <= sum(len(t) for t in chosen)
    # Across a passage's end too.
    first, second = _pieces(SCENE, text[len(SCENE) :])
    question = "农业农村部启动开展了哪些专项法治宣传行动"
    chosen = select_sentences(question, [first], 1)
    _, sentences = run_on([first], chosen, lambda c: second.chunk, reach(question))
    size = sum(len(s.text) for s in sentences)
    assert size - len(sentences[-1].text) < limit <= size


def test_a_question_line_takes_none_of_the_reach_of_its_answer() -> None:
    # A question-and-answer notice: the line that matches the question is the entry's question,
    # and the answer after it reads on as far as it would have from an answer sentence.
    asked = "23、被新型冠状病毒病原体污染的污水、污物、场所和物品，需如何处理？"
    answer = [f"第{i}项要求写明了消毒处理的具体办法和责任单位。" for i in range(12)]
    chosen = _texts(
        "被新型冠状病毒病原体污染的污水、污物需如何处理？", [_hit(asked + "".join(answer))]
    )
    assert chosen[0] == asked
    size = sum(len(t) for t in chosen[1:])
    assert size - len(chosen[-1]) < CONTINUE_CHARS <= size


QA_ASKED = "Q2：闭馆期间还能借阅文献吗？"
QA_ANSWER = "闭馆期间读者不能到馆借阅文献，但可以在线阅读数字文献。"
QA_NEXT = "Q3：什么时候开馆？开馆时间将依据疫情发展情况确定。"


def test_the_next_question_ends_the_answer() -> None:
    # Entry after entry of a Q&A notice: the answer is what lies between its question and the
    # next one, however much of the reach is left.
    chosen = _texts("闭馆期间还能借阅文献吗？", [_hit(QA_ASKED + QA_ANSWER + QA_NEXT)])
    assert chosen == [QA_ASKED, QA_ANSWER]
    # A question asked in two parts is one question: its answer follows the second part.
    asked = ["门把手、按钮、扶手是否有病毒？", "该怎么消毒？"]
    answer = "摸了门把手以后及时洗手或者用手消毒即可。"
    chosen = _texts("门把手、按钮、扶手是否有病毒？", [_hit("".join(asked) + answer + QA_NEXT)])
    assert chosen == [*asked, answer]
    # A web address's question mark asks nothing: the answer goes on after it.
    lines = [
        "You can opt out of targeted ads.",
        "To do so, go to https://example.com/prefs.html?",
        "Your choice applies to this browser only.",
    ]
    assert _texts("How do I opt out of targeted ads?", [_hit(" ".join(lines), ("Ads",))]) == lines


def test_the_next_question_ends_the_answer_in_the_next_passage() -> None:
    question = "闭馆期间还能借阅文献吗？"
    first, second = _pieces(QA_ASKED, QA_ANSWER + QA_NEXT)
    _, sentences = run_on([first], select_sentences(question, [first], 1), lambda c: second.chunk)
    assert [s.text for s in sentences] == [QA_ASKED, QA_ANSWER]


def test_an_english_passage_reads_on_three_times_as_many_characters() -> None:
    # About as many model tokens as the Chinese limit: an English character is about a third.
    lead = "The expense policy covers travel booked through the company tool."
    text = lead + "".join(f" Sentence {i} explains one more rule of the policy." for i in range(40))
    chosen = _texts("What does the expense policy cover?", [_hit(text, ("Expenses",))])
    assert chosen[0] == lead
    size = sum(len(t) for t in chosen)
    assert size - len(chosen[-1]) < 3 * CONTINUE_CHARS <= size


def test_a_question_about_who_may_apply_is_answered_by_the_subjects_clause() -> None:
    question = "哪些企业可以申请这些支持？"
    assert asks_subjects(question) and asks_subjects("Who is eligible for the grant?")
    assert not asks_subjects("申报条件有哪些？") and not asks_subjects("哪些材料需要提交？")
    assert {"企业", "申请"} <= asking_tokens(question)[1]
    subjects = "在本市依法登记注册的制造业中小企业。"
    notice = _hit(f"一、支持对象\n{subjects}\n二、支持内容\n（一）诊断服务补贴。")
    other = _hit("企业委托服务机构开展诊断的，给予补贴。", n=1)
    # The clause leads, though the other passage ranks first and writes 企业, and the answer
    # stops at the next item: one clause answers who may apply, not a list.
    assert _texts(question, [other, notice]) == ["一、支持对象", subjects]


def test_a_policy_word_holds_the_question_word_it_means() -> None:
    # The question's 申报 is the policy's 申请; the first passage ranks higher.
    paid = _hit("贴息资金由市财政局统一拨付企业。", n=1)
    apply = _hit("企业申请贴息应提交申请表和营业执照复印件。", n=2)
    assert _texts("企业申报贴息怎么办理？", [paid, apply]) == [apply.chunk.text]
    assert same_words(["申请", "_申请", "贴息"], {"申报", "_申报", "补贴"}) == {"申报", "_申报"}


@pytest.mark.parametrize("gap", ["  ", "   ", " \t  "])
def test_a_run_of_spaces_inside_an_english_sentence_does_not_end_it(gap: str) -> None:
    # A typo in the handbook; between Chinese clauses a run of spaces still ends one.
    text = f"- Meals while traveling on Company business{gap}are reimbursable, up to $100 per day."
    assert [text[a:b] for a, b in split_sentences(text)] == [text]
    assert [(a, b) for a, b in split_sentences("一、总体要求  二、主要措施")] == [(0, 6), (8, 14)]


def test_a_colon_sentence_brings_its_list() -> None:
    text = "申请时需提交以下材料：\n1. 营业执照复印件；\n2. 申请表。"
    assert _texts("申请需提交哪些材料", [_hit(text)]) == [
        "申请时需提交以下材料：",
        "1. 营业执照复印件；",
        "2. 申请表。",
    ]


def test_a_sentence_ending_in_ru_xia_brings_its_list_past_a_numbered_item() -> None:
    lead = "现将延长春节假期的具体安排通知如下。"
    text = lead + "\n一、延长春节假期至2月2日。\n二、2月3日起正常上班。"
    assert _texts("延长春节假期的具体安排", [_hit(text)]) == [
        lead,
        "一、延长春节假期至2月2日。",
        "二、2月3日起正常上班。",
    ]


def test_an_item_brings_its_sub_items_and_stops_at_the_next_item() -> None:
    lead = "5.村民等在村人员责任。"
    subs = ["（1）服从村应急防控统一管理。", "（2）自觉遵守“防控六要”。"]
    text = "4.村干部责任。" + lead + "".join(subs) + "6.外来人员责任。（1）主动登记。"
    assert _texts("在村人员责任有哪些？", [_hit(text)]) == [lead, *subs]
    # A sub-item stops at its sibling, as any item did before.
    assert _texts("服从村应急防控统一管理", [_hit(text)]) == [subs[0]]


def test_a_list_asked_for_is_read_from_its_first_item_to_its_last() -> None:
    items = [
        "1. 企业注册地、税务征管关系及统计关系均在本区；",
        "2. 近三年内未发生重大安全、质量事故或严重环境违法行为；",
        "3. 未被列入严重失信主体名单。",
    ]
    conditions = _hit("\n".join(items), ("高新技术企业培育奖励办法", "三、申请条件"))
    assert reach("高新技术企业奖励的申请条件是什么？") == LIST_QUESTION_REACH
    assert _texts("高新技术企业奖励的申请条件是什么？", [conditions]) == items
    # Not asked for a list: the first item is one item.
    assert _texts("企业注册地有什么规定", [conditions]) == items[:1]
    # A later item does not bring its siblings: only the list's first one opens it.
    later = _hit("\n".join(items[1:]), ("高新技术企业培育奖励办法", "三、申请条件"))
    assert _texts("有哪些严重失信主体名单的要求？", [later]) == items[2:]


def test_a_notice_signature_is_quoted_only_when_asked_who_issued_it_or_when() -> None:
    last = "（三）本通知自2026年4月1日起施行。政策咨询电话：0000-12345678。"
    signature = ["示例市人民政府", "2026年3月20日"]
    notice = _hit("\n".join([last, *signature]), ("关于支持数字化转型的通知",))
    # Reading on from the last clause stops at the signature.
    assert _texts("政策咨询电话是多少？", [notice]) == [
        "（三）本通知自2026年4月1日起施行。",
        "政策咨询电话：0000-12345678。",
    ]
    # Its date is not an answer to when the policy applies...
    applies = {x.text for x in score_sentences("这个通知什么时候施行？", [notice])}
    assert not set(signature) & applies
    # ...but may be one to when the notice was issued.
    issued = {x.text for x in score_sentences("这个通知是哪天印发的？", [notice])}
    assert set(signature) <= issued
    # The signature answers who issued it and when, though it writes none of 发布, 日期 or 单位,
    # and it is quoted alone: it ends the last item rather than belonging to it.
    for question in ("这个通知什么时候发布的？", "发布日期是哪天？", "发文单位是谁？"):
        assert _texts(question, [notice], 3) == signature, question
        assert select_sentences(question, [notice], 3)[0].score == 1.0
    # A page copied whole has both on one line, with its publication note.
    copied = _hit("（三）本措施自发布之日起施行。 三明市人民政府 2020年2月4日 （此件主动公开）")
    assert _texts("发布日期是哪天？", [copied]) == ["三明市人民政府 2020年2月4日 （此件主动公开）"]
    # A question about what the policy says will be published is not about the signature: a
    # date in its text answers it.
    listed = answer_pattern("什么时候公布认定名单？")
    assert listed is not None and listed.search("认定名单于每年7月20日前公布")
    guide = _hit("\n".join(["市工业和信息化局于每年3月发布申报指南。", *signature]), n=1)
    assert _texts("什么时候发布申报指南？", [guide]) == ["市工业和信息化局于每年3月发布申报指南。"]


def test_a_sentence_that_runs_into_its_list_brings_the_rest_of_it() -> None:
    lead = "申请办理时，需提交如下材料：1.停征污水处理费审批表(原件1份)。"
    items = ["2.营业执照复印件。", "3.法人证书复印件。"]
    text = lead + "".join(items)
    assert _texts("停征污水处理费需要提交哪些申请材料？", [_hit(text)]) == [lead, *items]


def test_a_sentence_inside_a_numbered_item_brings_the_item_start() -> None:
    item = "5.缓解企业用能成本压力。"
    lead = "市政控股公司对中小企业生产经营所需水、气、热实行欠费不停供措施。"
    text = "4.减免房租。对承租国有资产类经营用房的企业免收租金。\n" + item + lead
    assert _texts("对中小企业用水用气实行欠费不停供", [_hit(text)]) == [item, lead]
    # Not when the item starts further back than LEAD_IN_CHARS, nor across a heading line.
    far = "这一项的说明写得很长。" * (LEAD_IN_CHARS // 10)
    assert _texts("对中小企业用水用气实行欠费不停供", [_hit(item + far + lead)]) == [lead]
    heading = _hit(item + "\n供水供气供热保障\n" + lead, path=("通知", "供水供气供热保障"))
    assert _texts("对中小企业用水用气实行欠费不停供", [heading]) == [lead]


def test_a_sentence_inside_a_paragraph_brings_the_paragraph_start() -> None:
    opening = "All electronics carry a 2-year limited warranty against manufacturing defects."
    lead = "The warranty does not cover accidental damage, water damage or normal wear."
    question = "What does the warranty cover?"
    body = f"{opening} {lead}"
    assert _texts(question, [_hit(f"Section 3 Warranty\n\n{body}")]) == [opening, lead]
    # A run of spaces opens a paragraph too, as many notices lay them out.
    assert _texts(question, [_hit(f"Earlier text ends here.\u3000\u3000{body}")]) == [
        opening,
        lead,
    ]
    # Not from the passage start, which may cut a paragraph, nor from further than LEAD_IN_CHARS
    # (scaled: three times as far for English).
    assert _texts(question, [_hit(body)]) == [lead]
    far = "Electronics are sold here. " * (3 * LEAD_IN_CHARS // 20)
    assert _texts(question, [_hit(f"Section 3 Warranty\n{far}{lead}")]) == [lead]


def test_a_sentence_that_points_back_brings_the_one_before_it() -> None:
    grant = "对受疫情影响较大的小型、微型企业，经认定给予其2020年2月至4月的全额补贴。"
    back = "该项措施是开发区针对小微企业专门制定的兜底条款，将为这些企业缓解资金压力。"
    question = "开发区针对小微企业的兜底条款是什么？"
    assert _texts(question, [_hit(grant + back)]) == [grant, back]
    # Not a sentence that names its subject, nor "此外" (in addition), nor past the passage start.
    plain = back.replace("该项措施是开发区", "开发区的措施是")
    assert _texts(question, [_hit(grant + plain)]) == [plain]
    besides = back.replace("该项措施是开发区", "此外开发区")
    assert _texts(question, [_hit(grant + besides)]) == [besides]
    assert _texts(question, [_hit(back)]) == [back]
    this = "This is the fallback clause the zone wrote for small firms in distress."
    grant_en = "Small firms hit hardest get a full grant for February to April."
    assert _texts(
        "What is the zone's fallback clause for small firms?", [_hit(grant_en + " " + this)]
    ) == [grant_en, this]


PREAMBLE = "为减少人员聚集，现将延长春节假期的具体安排通知如下："
ITEMS = [f"{i}. 第{i}项安排。" for i in range(1, LIST_LINES + 3)]


def _pieces(first: str, second: str, overlap: int = 0) -> list[Hit]:
    """Two consecutive passages of one document, the second starting ``overlap`` characters
    before the first ends."""
    a = _hit(first)
    b = _hit(second)
    chunk = replace(
        b.chunk, chunk_id="c0-next", ordinal=1, start=len(first) - overlap,
        end=len(first) - overlap + len(second),
    )  # fmt: skip
    return [a, replace(b, chunk=chunk)]


def test_a_list_cut_off_by_the_passage_end_continues_in_the_next_passage() -> None:
    first, second = _pieces("疫情期间。" + PREAMBLE, "\n".join(ITEMS))
    chosen = select_sentences("延长春节假期的具体安排", [first], 1)
    assert [s.text for s in chosen] == [PREAMBLE]  # nothing follows it in its passage
    hits, sentences = run_on([first], chosen, lambda c: second.chunk if c is first.chunk else None)
    assert [s.text for s in sentences] == [PREAMBLE, *ITEMS[:LIST_LINES]]
    # One quote, one citation: the passage it starts in, reaching into the next one.
    assert len(hits) == 1 and {s.hit_index for s in sentences} == {0}
    both = hits[0].chunk
    assert both.chunk_id == "c0" and (both.start, both.end) == (0, second.chunk.end)
    assert all(both.text[s.start : s.end] == s.text for s in sentences)


def _items_read_on(lead: str, items: list[str]) -> tuple[list[str], int, int]:
    """A notice the chunker cut at its items ("二、…", "三、…": one passage each), read on from
    the lead of its first passage: the sentences quoted, where the cited passage ends, and
    where the last passage ends."""
    chunks, start = [], 0
    for n, text in enumerate([lead, *items]):
        path = ("通告",) if n == 0 else ("通告", text[:2])
        chunks.append(replace(_hit(text, path).chunk, chunk_id=f"c{n}", ordinal=n, start=start,
                              end=start + len(text)))  # fmt: skip
        start += len(text) + 1
    after = {c.chunk_id: nxt for c, nxt in pairwise(chunks)}
    first = Hit(chunk=chunks[0], score=1.0)
    chosen = select_sentences("恢复交通运输秩序的通告内容是什么？", [first], 1)
    hits, sentences = run_on([first], chosen, lambda c: after.get(c.chunk_id))
    return [s.text for s in sentences], hits[0].chunk.end, chunks[-1].end


def test_a_list_goes_on_through_passages_of_one_item_each() -> None:
    lead = "现就有关事项通知如下：一、撤销全市交通卡口。"
    items = ["二、已封堵的高速公路出口要恢复正常通行。", "三、各县要落实属地管理责任。"]
    quoted, cited_end, last_end = _items_read_on(lead, items)
    assert quoted == [lead, *items]
    assert cited_end == last_end  # one quote, cited from its first passage
    # Once a reading-on's reach is read, it takes no further passage.
    long_item = "二、" + "已封堵的高速公路出口要恢复正常通行，" * 12 + "不得另设卡口。"
    quoted, _, _ = _items_read_on(lead, [long_item, items[1]])
    assert quoted == [lead, long_item]


def test_a_list_asked_for_goes_on_through_items_that_head_their_own_passages() -> None:
    titles = ["（一）诊断服务补贴。", "（二）改造项目补助。", "（三）上云用云奖励。"]
    bodies = [
        "按诊断服务费用的80%给予补贴，每家企业最高不超过5万元。",
        "按设备和软件投资额的20%给予补助，单个项目最高不超过300万元。",
        "按当年实际支付费用的50%给予奖励，每家企业每年最高不超过10万元。",
    ]
    chunks, start = [], 0
    for n, (title, body) in enumerate(zip(titles, bodies, strict=True)):
        text = title + body  # as the notice writes it: the item's name opens its line
        path = ("数字化转型的通知", "二、支持内容", title.rstrip("。"))  # and heads its passage
        chunks.append(replace(_hit(text, path).chunk, chunk_id=f"c{n}", ordinal=n, start=start,
                              end=start + len(text)))  # fmt: skip
        start += len(text) + 1
    after = {c.chunk_id: nxt for c, nxt in pairwise(chunks)}
    first = Hit(chunk=chunks[0], score=1.0)

    def quoted(question: str) -> list[str]:
        chosen = select_sentences(question, [first], 2)
        _, sentences = run_on([first], chosen, lambda c: after.get(c.chunk_id), reach(question))
        return [s.text for s in sentences]

    listed = quoted("数字化转型有哪些补贴？")
    assert [t for t in titles if t in listed] == titles
    # Asked about the first item only, the reading stops at the next one.
    assert titles[1] not in quoted("诊断服务补贴最高多少？")


def test_a_run_on_starts_after_the_overlap_and_only_after_a_passage_end() -> None:
    first, second = _pieces("疫情期间。" + PREAMBLE, PREAMBLE[-10:] + "\n" + ITEMS[0], overlap=10)
    chosen = select_sentences("延长春节假期的具体安排", [first], 1)
    hits, sentences = run_on([first], chosen, lambda c: second.chunk)
    assert [s.text for s in sentences] == [PREAMBLE, ITEMS[0]]
    assert hits[0].chunk.text == "疫情期间。" + PREAMBLE + "\n" + ITEMS[0]
    # A run that ends before its passage does: no run-on.
    inside = _hit(PREAMBLE + "\n" + "\n".join(ITEMS))
    chosen = select_sentences("延长春节假期的具体安排", [inside], 1)
    assert run_on([inside], chosen, lambda c: second.chunk) == ([inside], chosen)


def test_a_list_the_passage_end_cuts_goes_on_in_the_next_passage() -> None:
    first, second = _pieces(PREAMBLE + "\n" + ITEMS[0], "\n".join(ITEMS[1:]))
    chosen = select_sentences("延长春节假期的具体安排", [first], 1)
    assert [s.text for s in chosen] == [PREAMBLE, ITEMS[0]]
    _, sentences = run_on([first], chosen, lambda c: second.chunk)
    assert [s.text for s in sentences] == [PREAMBLE, *ITEMS[:LIST_LINES]]
    # A next passage that opens with its heading is another article: the list ended with its own.
    first, second = _pieces(PREAMBLE + "\n" + ITEMS[0], "第七条 申报时间\n申报时间为每年3月1日。")
    article = replace(second.chunk, heading_path=("通知", "第七条 申报时间"))
    assert run_on([first], chosen, lambda c: article) == ([first], chosen)


def test_a_sentence_the_passage_end_cuts_is_completed() -> None:
    head = "上海市国资委出台一系列防疫和惠企政策，包括用于企业员工的疫情防控品不计入工资；"
    tail = "对遇到特殊困难的企业予以支持等24条具体举措。"
    after = "二、其他事项另行通知。"
    question = "上海市国资委出台了哪些防疫和惠企政策？"
    # The next passage starts inside the sentence (an overlap) ...
    first, second = _pieces(head, head[-9:] + tail + "\n" + after, overlap=9)
    _, sentences = run_on([first], select_sentences(question, [first], 1), lambda c: second.chunk)
    assert [s.text for s in sentences] == [head, tail]
    # ... or right where it stops, with no sentence end before.
    first, second = _pieces(head, tail + "\n" + after)
    _, sentences = run_on([first], select_sentences(question, [first], 1), lambda c: second.chunk)
    assert [s.text for s in sentences] == [head, tail]
    # A sentence that ended is not completed, and the reading stops at the next item.
    ended = head[:-1] + "。"
    first, second = _pieces(ended, tail + "\n" + after)
    _, sentences = run_on([first], select_sentences(question, [first], 1), lambda c: second.chunk)
    assert [s.text for s in sentences] == [ended, tail]


def test_a_run_at_its_passage_end_reads_on_as_it_would_in_one_passage() -> None:
    lead = "市政控股公司要对受疫情影响的中小微企业减免燃气费。"
    more = ["减免期限为三个月，由企业提出申请。", "具体办法另行制定。"]
    long_ = "企业可以通过网上平台提交申请材料" * 20 + "。"
    question = "市政控股公司对中小微企业有什么支持？"
    first, second = _pieces(lead, "".join(more) + "\n2.其他措施。")
    _, sentences = run_on([first], select_sentences(question, [first], 1), lambda c: second.chunk)
    assert [s.text for s in sentences] == [lead, *more]  # stops at the next item
    first, second = _pieces(lead, long_ + more[0])
    _, sentences = run_on([first], select_sentences(question, [first], 1), lambda c: second.chunk)
    assert [s.text for s in sentences] == [lead, long_]  # stops past CONTINUE_CHARS


def test_title_and_headings_count_at_half_weight() -> None:
    # Both passages hold one sentence with the question's word 补贴; only the second
    # passage's title names the city the question asks about.
    elsewhere = _hit("企业可申请一次性补贴。", ("杭州市惠企政策",), n=0)
    here = _hit("企业可申请一次性补贴。另附说明。", ("宁波市惠企政策",), n=1)
    chosen = select_sentences("宁波市有哪些补贴", [elsewhere, here], 1)
    assert chosen[0].hit_index == 1
    # Found in the sentence itself, the same words would weigh twice as much.
    in_text = _hit("宁波市企业可申请一次性补贴。", ("惠企政策",), n=2)
    assert select_sentences("宁波市有哪些补贴", [here, in_text], 1)[0].hit_index == 1


def test_a_sentence_held_by_two_passages_is_quoted_once() -> None:
    text = "符合条件的企业可申请稳岗返还补贴。"
    hits = [_hit(text, n=0), _hit(text, n=1)]
    chosen = select_sentences("稳岗返还补贴", hits, 3)
    assert [s.text for s in chosen] == [text]
    assert chosen[0].hit_index == 0


def test_a_question_that_asks_for_a_phone_number_gets_the_sentence_with_one() -> None:
    scene = "广西各地要严肃查处不执行疫情防控命令的人，并公开举报途径。"
    number = "对不执行疫情防控命令的人，可拨打12320举报。"
    hits = [_hit(scene, n=0), _hit(number, n=1)]
    # Asked without 电话, the scene covers more of the question's words.
    assert _texts("广西如何举报不执行疫情防控命令的人？", hits) == [scene]
    asks_number = "广西如何电话举报不执行疫情防控命令的人？"
    ranked = score_sentences(asks_number, hits)
    chosen = select_sentences(asks_number, hits, 1)
    assert [s.text for s in chosen] == [number]
    # still keyword coverage, which refusal reads
    assert chosen[0].score == max(s.score for s in ranked if s.text == number)


def test_a_sentence_with_the_kind_of_answer_asked_for_covers_the_words_that_ask() -> None:
    question = "什么时候截止申报？"
    assert {"截止", "_截止", "_止申"} <= asking_tokens(question)[1]
    assert "申报" not in asking_tokens(question)[1]
    assert asking_tokens("申报条件有哪些？") == (None, set())
    dated = _hit("申报时间为每年3月1日至4月30日，逾期不予受理。", ("申报程序",))
    undated = _hit("申报时间由市工业和信息化局另行通知，逾期不予受理。", ("申报程序",))
    # Refusal reads this coverage: the date answers 截止 (and 时候), the other sentence does not.
    assert select_sentences(question, [dated], 1)[0].score == 1.0
    assert select_sentences(question, [undated], 1)[0].score < 0.5


def test_a_time_limit_answers_when_as_a_date_does() -> None:
    # Policies set deadlines relative to a step: "受理之日起15个工作日内", "within 5 business days".
    assert _answers("奖励什么时候发？", "自受理之日起15个工作日内完成审核")
    assert _answers("When will I get my refund?", "Refunds are issued within 5 business days.")
    assert not _answers("When will I get my refund?", "Refunds go to the original card.")
    dated = "本办法自2026年3月1日起施行，有效期3年。"
    limit = "区科学技术局自受理之日起15个工作日内完成审核，审核通过后拨付奖励资金。"
    hit = _hit(dated + limit, ("示例区高新技术企业培育奖励办法",))
    assert _texts("高新技术企业奖励什么时候发？", [hit]) == [limit]
    support = "Standard support is open from 9:00 to 18:00 on weekdays."
    refunds = "Refunds are issued within 5 business days after we receive the item."
    assert _texts("When will I get my refund?", [_hit(f"{support} {refunds}")]) == [refunds]


def test_a_list_of_materials_covers_the_words_that_ask_for_it() -> None:
    question = "申报要交哪些材料？"
    assert {"要交", "_报要", "材料"} <= asking_tokens(question)[1]
    assert "申报" not in asking_tokens(question)[1]
    assert _answers("申请奖励要准备什么材料？", "提交高新技术企业证书复印件和奖励申请表")
    assert not _answers("申请奖励要准备什么材料？", "区科学技术局自受理之日起15个工作日内完成审核")
    listed = _hit(
        "企业申请支持应当提交以下材料：\n1. 申请表（加盖企业公章）；", ("第六条 申报材料",)
    )
    timed = _hit("申报时间为每年3月1日至4月30日，逾期不予受理。", ("第七条 申报时间",))
    # 要交 occurs in no passage: without the rule it would weigh the most and hold the list's
    # coverage under the refusal threshold.
    assert select_sentences(question, [listed], 1)[0].score > 0.6
    assert select_sentences(question, [timed], 1)[0].score < 0.5


def test_a_question_for_a_count_of_copies_is_answered_by_one() -> None:
    # 几份 asks for a count, and 一式两份 gives one: the words that ask are covered.
    counted = answer_pattern("需要交几份纸质材料？")
    assert counted is not None and counted.search("并将纸质材料一式两份报送")
    assert not counted.search("劳动者一方在十人以上")  # a number, but not of copies
    copies = _hit("企业在线填报，并将纸质材料一式两份报送主管部门。")
    no_count = _hit("企业在线填报，并将纸质材料报送主管部门。")
    with_count = select_sentences("需要交几份纸质材料？", [copies], 1)[0].score
    assert with_count > select_sentences("需要交几份纸质材料？", [no_count], 1)[0].score + 0.2


def test_a_swapped_follow_up_leads_with_what_the_question_before_it_asked() -> None:
    from chatbot.answering.extractive import Sentence, swapped

    hours, severity1, other = (
        Sentence(0, 0, 10, "Standard support is available Monday to Friday.", 0.94),
        Sentence(1, 0, 10, "Severity 1: first response within 4 hours for Standard.", 0.50),
        Sentence(2, 0, 10, "Credits must be requested within 30 days.", 0.10),
    )
    before = [replace(severity1, score=0.71), replace(hours, score=0.18)]
    ranked = swapped([hours, severity1, other], before)
    # The lead takes the best coverage of the follow-up (refusal reads it); the sentence on the
    # new part alone falls below the share a second quote needs.
    assert ranked[0].text == severity1.text and ranked[0].score == 0.94
    assert ranked[1].text == hours.text and ranked[1].score < 0.75 * 0.94
    # Below half of the best coverage a sentence cannot lead, however much of the earlier
    # question it holds; with nothing of the earlier question held, the order stays.
    assert swapped([hours, other], [replace(other, score=1.0)])[0].text == hours.text
    assert swapped([hours, severity1], []) == [hours, severity1]


def test_the_modal_verb_before_what_is_asked_weighs_nothing() -> None:
    plain = question_tokens("贷款贴息什么条件？")
    assert question_tokens("贷款贴息需要什么条件？") == plain
    assert question_tokens("贷款贴息要满足哪些条件？") == question_tokens("贷款贴息哪些条件？")
    assert question_tokens("审核需要多久？") == question_tokens("审核多久？")
    assert "需要" in question_tokens("是否需要缴纳个税？")  # not before what is asked: a word


def test_colloquial_and_wishing_words_frame_a_question_as_their_plain_forms_do() -> None:
    assert question_tokens("登山中注意啥？") == question_tokens("登山中注意什么？")
    assert question_tokens("咋申请？") == question_tokens("怎么申请？")
    assert question_tokens("我想学车，如何选择驾校？") == question_tokens("学车，如何选择驾校？")
    assert question_tokens("被咬伤应怎样处置") == question_tokens("被咬伤如何处置")
    assert question_tokens("可以感染病毒而不发病么？") == question_tokens(
        "可以感染病毒而不发病吗？"
    )
    # Only the 么 that ends a question: 什么 and 怎么 stay what they are.
    assert unframed("可以缓缴么？") == "可以缓缴吗？"
    assert unframed("申报材料是什么？") == "申报材料是什么？"
    assert unframed("这个词怎么？") == "这个词怎么？"
    # Only the asker's opening wish: a policy's 计划 or 准备 is what a question may ask about.
    assert "准备" in question_tokens("开学前学校准备工作有哪些？")


def test_how_to_apply_is_answered_by_the_procedure_not_the_conditions() -> None:
    procedure = answer_pattern("那怎么申请？")
    assert procedure is not None
    assert procedure.search("企业在认定结果公示后6个月内向区科学技术局提出申请")
    assert procedure.search("企业通过“示例市企业服务平台”在线提交申请")
    assert not procedure.search("1. 企业注册地、税务征管关系及统计关系均在本区；")
    assert answer_pattern("How do I apply for the subsidy?") is procedure
    steps = _hit("企业在认定结果公示后6个月内向区科学技术局提出申请。", ("四、办理流程",))
    rules = _hit("1. 企业注册地、税务征管关系及统计关系均在本区；", ("三、申请条件",), n=1)
    chosen = select_sentences("那怎么申请？", [rules, steps], 1)
    assert chosen[0].text.startswith("企业在认定结果公示后")


def test_a_terms_length_answers_how_long_it_lasts() -> None:
    timed = answer_pattern("贴息期限最长多久？")
    assert timed is not None
    assert timed.search("贴息期限不超过1年") and timed.search("有效期3年")
    assert not timed.search("连续支持不超过2年")  # a limit on support, not a term


def test_the_everyday_words_that_ask_for_an_amount_weigh_nothing() -> None:
    plain = question_tokens("贷款贴息多少？")
    assert question_tokens("贷款贴息最多能拿多少？") == plain
    assert question_tokens("贷款贴息上限是多少？") == plain
    assert question_tokens("贷款贴息能拿多少钱？") == plain
    assert question_tokens("贷款贴息最多能贴多少钱？") == plain  # the verb of the subsidy itself
    assert question_tokens("贷款贴息最长贴多久？") == question_tokens("贷款贴息多久？")
    assert "补贴" in question_tokens("补贴多久发放？")  # no 最 or 能 before it: a word
    assert question_tokens("Can I get a refund?") == question_tokens("a refund?") == {"refund"}
    assert "补贴" in question_tokens("最高补贴多少？")  # what is asked about still counts
    capped = _hit("单户企业年度贴息总额不超过100万元，贴息期限不超过1年。", ("第五条 贷款贴息",))
    # 最多能, 拿 and the bigrams across them (_息最, _能拿) occur in no passage: they weighed
    # the most and held the cap's coverage under the refusal threshold (0.28 on the demo corpus).
    assert select_sentences("贷款贴息最多能拿多少？", [capped], 1)[0].score > 0.6
    # A sentence with an amount still covers only what it says: 创业 is the question's topic.
    rent = _hit(
        "对减免租金的业主按减免金额的30%给予补贴，每户补贴最高不超过20万元。", ("房租减免",)
    )
    assert select_sentences("首次创业能拿到多少创业补贴？", [rent], 1)[0].score < 0.4


def test_the_words_that_ask_what_to_do_weigh_nothing() -> None:
    plain = question_tokens("寒潮")
    assert question_tokens("遇到寒潮我该怎么办") == plain  # 遇到 frames what one meets
    assert question_tokens("遇到寒潮，我们应该如何应对？") == plain
    assert question_tokens("遇到寒潮怎么办呢？") == plain
    # 怎么办理 asks how to apply: 办理 is what it is about; without the framing 遇到 counts.
    assert "办理" in question_tokens("补贴怎么办理？")
    assert "_遇到" in question_tokens("遇到困难的企业有哪些补贴？")
    advice = _hit("寒潮来临时，减少外出，注意防寒保暖。", ("寒潮",))
    assert select_sentences("遇到寒潮我该怎么办", [advice], 1)[0].score > 0.5


def _answers(question: str, text: str) -> bool:
    pattern = answer_pattern(question)
    return pattern is not None and pattern.search(text) is not None


def test_english_questions_for_a_date_an_address_or_an_amount() -> None:
    assert _answers("When are expenses due?", "due by Jan. 31 each year")
    assert not _answers("When are expenses due?", "due at the end of the quarter")
    assert _answers("What is the billing e-mail?", "write to ar@example.com")
    assert _answers("How much is the book allowance?", "$60/year")
    assert answer_pattern("What does the policy cover?") is None


def test_a_passage_of_headings_only_is_its_own_content() -> None:
    # A one-line document: its line is its title, and all it says.
    line = "运动健将需要到北京市体育局竞技体育处提交申请材料。"
    assert _texts("运动健将去哪里提交申请材料？", [_hit(line, path=(line,))]) == [line]
    # In a passage with a body, heading lines are still never quoted.
    body = "申请材料由申请人在线提交。"
    titled = _hit(f"{line}\n{body}", path=(line,))
    assert _texts("运动健将去哪里提交申请材料？", [titled]) == [body]


def test_english_sentences_quoted_in_a_chinese_answer_keep_their_space() -> None:
    from chatbot.answering.compose import extractive_answer
    from chatbot.answering.extractive import Sentence

    text = "You may return an unused item within 30 days. Refunds are issued within 5 days."
    chunk = Chunk("d:0", "d", 0, text, 0, len(text), ("Refunds",), None, "d.md", "Refund Policy")
    cut = text.index(" Refunds")
    sentences = [
        Sentence(0, 0, cut, text[:cut], 1.0),
        Sentence(0, cut + 1, len(text), text[cut + 1 :], 1.0),
    ]
    answer = extractive_answer("退款多久到账？", [Hit(chunk, 1.0)], sentences, "zh").answer
    assert answer == f"根据现有政策文件：\n{text}[1]"


def test_how_long_is_answered_by_a_length_of_time_not_any_number() -> None:
    lasting = answer_pattern("这些措施执行多久？")
    assert lasting is not None
    for said in ("自政策发布之日起三个月", "最长不超过3个月", "15个工作日内完成审核", "30日内"):
        assert lasting.search(said), said
    for said in ("补助标准按照2020年的通知执行", "3月15日前申报", "给予30万元奖励"):
        assert not lasting.search(said), said
    english = answer_pattern("How long is the warranty?")
    assert english is not None and english.search("a 2-year limited warranty")
    assert not english.search("Call 555 0100 for warranty claims.")
    dated = _hit("补助标准按照《关于2020年稳定运行措施的通知》执行。", ("十、完善政策执行",))
    term = _hit("本政策执行期暂定为自政策发布之日起三个月。", ("十二、附则",), n=1)
    assert _texts("这些措施执行多久？", [dated, term]) == [term.chunk.text]


def test_a_ratio_is_answered_by_a_percentage() -> None:
    ratio = answer_pattern("返还比例多少？")
    assert ratio is not None and ratio.search("按实际缴纳失业保险费的60%予以返还")
    assert not ratio.search("裁员30人以下的企业也可申请返还")
    refund = _hit("按上年度实际缴纳失业保险费的60%予以返还。", ("第四条 稳岗返还",))
    # Refusal reads this coverage: the percentage covers 比例, which the sentence never writes.
    assert select_sentences("返还比例多少？", [refund], 1)[0].score == 1.0


def test_the_body_that_does_it_is_answered_by_an_agencys_name() -> None:
    agency = answer_pattern("纾困措施由哪个部门解释？")
    assert agency is not None and agency.search("本措施由市工业和信息化局负责解释。")
    assert agency.search("请向区人力资源和社会保障部门提出申请")
    assert answer_pattern("Which department handles complaints?") is agency
    for other in ("这一格局将长期存在。", "营业大厅设在一楼。", "企业内部管理。", "全部免收。"):
        assert not agency.search(other)
    # Refusal reads this coverage: the agency covers 部门, which the sentence never writes.
    question = "措施由哪个部门解释？"
    explains = _hit("第八条 本措施由市工业和信息化局负责解释。", ("示例市纾困措施", "第四章 附则"))
    vague = _hit("第八条 本措施由有关方面负责解释。", ("示例市纾困措施", "第四章 附则"))
    assert select_sentences(question, [explains], 1)[0].score > 0.8
    assert select_sentences(question, [vague], 1)[0].score < 0.6


def test_a_reference_to_the_policy_at_hand_weighs_nothing() -> None:
    assert question_tokens("这些措施执行多久？") == question_tokens("执行多久？")
    assert question_tokens("本办法由谁负责解释？") == question_tokens("由谁负责解释？")
    assert question_tokens("该政策适用于哪些企业？") == question_tokens("适用于哪些企业？")
    # Only a reference to a policy: 本市 and 这些企业 name something.
    assert "本市" in question_tokens("本市企业可以申请吗？")
    assert "企业" in question_tokens("这些企业可以申请吗？")


def test_a_question_word_is_held_inside_a_longer_word() -> None:
    # jieba reads 社会保险费 and 执行期 as one word each; the question's 社会保险 and 执行 are in them.
    insurance = _hit("经批准后可缓缴社会保险费，缓缴期间免收滞纳金。")
    assert select_sentences("社会保险可以缓缴吗？", [insurance], 1)[0].score == 1.0
    other = _hit("缓缴期间免收滞纳金。")
    assert select_sentences("社会保险可以缓缴吗？", [other], 1)[0].score < 0.5
