"""Eligibility checklists: "我们是一家小微企业，能申请……吗？" -> the conditions the cited clauses
set, each judged met / not met / unknown from what the user said about themselves. "怎么申请？" ->
the same list narrowed to how to apply: when, with which materials, through which channel.

Extractive and rule-based on purpose: every condition is a verbatim sentence of a cited clause,
and a status is only "met" or "not met" when both the clause and the question state the fact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from chatbot.answering.prompts import APPLICATION_QUERY, CHECKLIST_QUERY, CHECKLIST_REASONS
from index_store.policy import repeals
from index_store.records import Answer, Citation, Condition, ConditionStatus, Hit

if TYPE_CHECKING:
    from chatbot.answering.asked import Asked
    from chatbot.answering.documents import Library
    from chatbot.answering.retrieval import HybridRetriever

_QUESTION = re.compile(
    r"能(?:否|不能)?(?:申请|申报|享受|领取|拿到)|可以(?:申请|申报|享受|领取)|可否|能不能|"
    r"是否(?:可以|能够?|符合|有资格)|符合.{0,8}条件|有(?:没有)?资格|申请条件|申报条件|"
    r"\beligib|\bqualif|\bcan (?:we|i) (?:apply|get|claim)|\bentitled",
    re.IGNORECASE,
)
# How to apply (the clauses' cues below are Chinese, so is this).
_APPLICATION = re.compile(
    r"(?:怎么|如何|怎样)(?:才能)?(?:申请|申报|办理|领取|兑现|报名)|"
    r"(?:申请|申报|办理)(?:流程|程序|手续|渠道|方式|途径|入口)|"
    r"(?:去|到|在)哪(?:里|儿)?(?:申请|申报|办理)|(?:申请|申报)材料|(?:哪些|什么|何种)材料"
)
_SENTENCE = re.compile(r"[^。；;!?！？\n]+[。；;!?！？]?")
_SIZES = {
    "中小微": {"medium", "small", "micro"},
    "中小": {"medium", "small"},
    "小微": {"small", "micro"},
    "小型微型": {"small", "micro"},
    "中型": {"medium"},
    "小型": {"small"},
    "小企业": {"small"},  # 我们是30人的小企业 (中小企业 and 小微企业 match longer keys first)
    "微型": {"micro"},
    "大型": {"large"},
    "个体工商户": {"sole"},
}
_SIZE_RE = re.compile("|".join(sorted(_SIZES, key=len, reverse=True)))
_EN_SIZES = {
    "small business": {"small"},
    "small company": {"small"},
    "sme": {"medium", "small"},
    "startup": {"small"},
}
# A place the user names; 省, 市, 区 or 县 starting another word is none (市属国有企业, 省级,
# 海外市场, 市民, 区域).
_PLACE = re.compile(r"([\u4e00-\u9fa5]{2,9}?(?:省|市|区|县))(?!属|级|场|民|域|直|委|政府|内|外)")
_PLACE_LEAD = set("我们你是一家位于在的注册设立于公司企业")
_HEADING_ONLY = re.compile(r"^[^，,。；;：:]{0,16}$")
_LOCAL = re.compile(r"本(?:市|省|区|县)|注册地|登记注册|辖区内")
_INDUSTRIES = [
    "制造业",
    "批发",
    "零售",
    "住宿",
    "餐饮",
    "文化",
    "旅游",
    "交通运输",
    "物流",
    "建筑",
    "软件",
    "信息技术",
    "科技",
    "农业",
    "外贸",
    "服务业",
    "医药",
    "互联网",
    "电商",
]
_HEADCOUNT_RULE = re.compile(r"(\d+)\s*人(?:（含）|\(含\))?\s*(以下|以上)")
_HEADCOUNT_USER = re.compile(r"(\d+)\s*(?:名|个|位)?\s*(?:员工|职工|人)")
_FOUNDED_RULE = re.compile(r"成立(?:时间)?(?:满|超过|不满|不超过)\s*(\d+)\s*年")
_FOUNDED_USER = re.compile(r"(?:成立|注册)(?:于|在)?\s*(\d{4})\s*年|(\d{4})\s*年(?:成立|注册)")
_AGE_USER = re.compile(r"(?:成立|注册)(?:了|已)?\s*(\d{1,2})\s*年")
# A sentence sets a condition on who may apply only when it says so.
_CONDITION_CUE = re.compile(
    r"适用|符合|应当|应(?:为|具有|满足|在|属于)|须|需|满|属于|限于|范围|条件|申请|"
    r"对[^，。；]{0,30}的"
)
# Conditions of one measure (taken from the passages that answer); the others hold for the whole
# policy (taken from any of its clauses).
MEASURE_SPECIFIC = frozenset({"industry", "founded", "headcount", "amount"})
_WINDOW = re.compile(r"(?:每年)?(\d{1,2})月(\d{1,2})日(?:至|到|—|-)(\d{1,2})月(\d{1,2})日")
# Facts a question can state: a sentence yields a condition for each of these it mentions.
_FACT_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("size", re.compile(r"中小微|中小企业|小微|小型|微型")),
    ("region", _LOCAL),
    ("industry", re.compile("|".join(_INDUSTRIES))),
    ("founded", _FOUNDED_RULE),
    ("headcount", _HEADCOUNT_RULE),
)
# Otherwise its first match among these, which only the clause can settle.
_INFO_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("deadline", re.compile(r"申报时间|申请时间|截止|逾期|受理时间|\d+月\d+日(?:至|前)")),
    ("materials", re.compile(r"材料|申请表|复印件|证明|凭证")),
    ("amount", re.compile(r"\d[\d.]*\s*(?:万元|元|%)|最高|比例|不超过\s*\d")),
    ("channel", re.compile(r"平台|窗口|网站|网上|在线|线上|APP|小程序|公众号|邮寄|递交|报送|提交")),
)
DISPLAY_ORDER = (
    "size",
    "region",
    "industry",
    "founded",
    "headcount",
    "amount",
    "deadline",
    "materials",
    "channel",
)
# What an eligibility question is checked against, and what a how-to-apply question is told.
ELIGIBILITY = frozenset(DISPLAY_ORDER) - {"channel"}
APPLICATION = frozenset({"deadline", "materials", "channel"})
MAX_PER_CATEGORY = {"materials": 6, "amount": 3}


@dataclass(frozen=True)
class Facts:
    """What the user said about their enterprise."""

    sizes: frozenset[str] = frozenset()
    places: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    headcount: int | None = None
    founded_year: int | None = None  # or, from "成立3年", the year that makes
    local: bool = False  # "我们在本市" / "本地企业": inside the policy's own region


def checklist_kinds(question: str) -> frozenset[str]:
    """The kinds of condition a checklist for ``question`` lists (none: no checklist)."""
    kinds = ELIGIBILITY if _QUESTION.search(question) else frozenset()
    return kinds | APPLICATION if _APPLICATION.search(question) else kinds


def only_how_to_apply(question: str) -> bool:
    """Whether ``question`` asks how to apply and not whether it may."""
    return checklist_kinds(question) == APPLICATION


def facts_of(question: str, today: date) -> Facts:
    sizes: set[str] = set()
    for match in _SIZE_RE.finditer(question):
        sizes |= _SIZES[match.group()]
    lowered = question.lower()
    for word, english in _EN_SIZES.items():
        if re.search(rf"\b{word}\b", lowered):
            sizes |= english
    headcount = _HEADCOUNT_USER.search(question)
    founded = _FOUNDED_USER.search(question)
    age = _AGE_USER.search(question)
    year = int(founded.group(1) or founded.group(2)) if founded else None
    if year is None and age is not None:
        year = today.year - int(age.group(1))
    return Facts(
        sizes=frozenset(sizes),
        places=tuple(p for p in map(_place, _PLACE.findall(question)) if p),
        industries=tuple(i for i in _INDUSTRIES if i in question),
        headcount=int(headcount.group(1)) if headcount else None,
        founded_year=year,
        local=bool(re.search(r"本(?:市|省|区|县|地)", question)),
    )


def _place(raw: str) -> str:
    """ "们是一家示例市" -> "示例市": drop the words a regex cannot tell from a place name."""
    while len(raw) > 2 and raw[0] in _PLACE_LEAD:
        raw = raw[1:]
    return "" if raw.startswith("本") else raw


def _categories(sentence: str, kinds: frozenset[str]) -> list[str]:
    if _HEADING_ONLY.match(sentence):
        return []  # "第三条 房租减免" names a clause, it sets no condition
    conditional = _CONDITION_CUE.search(sentence)
    found = [n for n, p in _FACT_CUES if n in kinds and conditional and p.search(sentence)]
    info = next((n for n, p in _INFO_CUES if n in kinds and p.search(sentence)), None)
    return [*found, info] if info else found


def _judge(
    category: str, sentence: str, facts: Facts, region: str, today: date
) -> tuple[ConditionStatus, str]:
    """Status and reason key (see ``CHECKLIST_REASONS``) for one condition."""
    if category == "size":
        allowed: set[str] = set()
        for match in _SIZE_RE.finditer(sentence):
            allowed |= _SIZES[match.group()]
        if not facts.sizes or not allowed:
            return "unknown", "size_unknown"
        return ("met", "size_met") if facts.sizes <= allowed else ("not_met", "size_not_met")
    if category == "region":
        if facts.local:
            return "met", "region_met"
        if not facts.places or not region:
            return "unknown", "region_unknown"
        inside = any(p in region or region in p for p in facts.places)
        return ("met", "region_met") if inside else ("not_met", "region_not_met")
    if category == "industry":
        listed = [i for i in _INDUSTRIES if i in sentence]
        if not facts.industries:
            return "unknown", "industry_unknown"
        hit = any(i in listed for i in facts.industries)
        return ("met", "industry_met") if hit else ("not_met", "industry_not_met")
    if category == "headcount":
        rule = _HEADCOUNT_RULE.search(sentence)
        if facts.headcount is None or rule is None:
            return "unknown", "headcount_unknown"
        limit, side = int(rule.group(1)), rule.group(2)
        ok = facts.headcount <= limit if side == "以下" else facts.headcount >= limit
        return ("met", "headcount_met") if ok else ("not_met", "headcount_not_met")
    if category == "founded":
        rule = _FOUNDED_RULE.search(sentence)
        if facts.founded_year is None or rule is None:
            return "unknown", "founded_unknown"
        years = today.year - facts.founded_year
        need = int(rule.group(1))
        ok = years < need if re.search(r"不满|不超过", rule.group()) else years >= need
        return ("met", "founded_met") if ok else ("not_met", "founded_not_met")
    if category == "deadline":
        window = _WINDOW.search(sentence)
        if window is None:
            return "unknown", "deadline_unknown"
        m1, d1, m2, d2 = (int(g) for g in window.groups())
        inside = (m1, d1) <= (today.month, today.day) <= (m2, d2)
        return ("met", "deadline_open") if inside else ("not_met", "deadline_closed")
    return "unknown", f"{category}_check"


def build_checklist(
    question: str,
    passages: list[tuple[int, str, bool]],
    region: str,
    today: date,
    language: str,
) -> list[Condition]:
    """Conditions from ``passages`` (citation number, clause text, whether it answers the
    question), in passage order, at most ``MAX_PER_CATEGORY`` per kind (default 2). Conditions
    of one measure (``MEASURE_SPECIFIC``) come only from answering passages, and only the kinds
    the question asks about (``checklist_kinds``) are listed. ``region`` is the policy's region
    (may be empty)."""
    kinds = checklist_kinds(question)
    facts = facts_of(question, today)
    reasons = CHECKLIST_REASONS[language]
    seen: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    out: list[Condition] = []
    for n, text, answering in passages:
        for match in _SENTENCE.finditer(text):
            sentence = match.group().strip()
            for category in _categories(sentence, kinds) if len(sentence) >= 6 else []:
                full = counts.get(category, 0) >= MAX_PER_CATEGORY.get(category, 2)
                foreign = category in MEASURE_SPECIFIC and not answering
                if full or foreign or (category, sentence) in seen:
                    continue
                seen.add((category, sentence))
                counts[category] = counts.get(category, 0) + 1
                status, reason = _judge(category, sentence, facts, region, today)
                out.append(Condition(category, sentence, n, status, reasons[reason]))
    return sorted(out, key=lambda c: DISPLAY_ORDER.index(c.category))


def with_checklist(
    answer: Answer,
    hits: list[Hit],
    as_of: date,
    search: Callable[[str, str], list[Hit]],
    region_of: Callable[[str], str],
    quoted_part: Callable[[Citation], str],
) -> Answer:
    """The eligibility conditions of the best-matching policy, or for a how-to-apply
    question its deadline, materials and channel, each with its citation: its clauses about
    them are searched within that one document; the measure's own conditions come from the
    part of each cited passage its quote is in (``quoted_part``: a passage may hold several
    measures, "2.2 Opened items" with its restocking fee beside "2.3 Digital goods")."""
    doc_id = answer.citations[0].doc_id if answer.citations else hits[0].chunk.doc_id
    queries = APPLICATION_QUERY if only_how_to_apply(answer.question) else CHECKLIST_QUERY
    probe = f"{answer.question} {queries[answer.language]}"
    found = search(probe, doc_id)
    cited = {c.chunk_id: c.n for c in answer.citations}
    base = max(cited.values(), default=0)
    new = sorted(
        {h.chunk.chunk_id: h for h in found if h.chunk.chunk_id not in cited}.values(),
        key=lambda h: h.chunk.ordinal,
    )
    numbers = {**cited, **{h.chunk.chunk_id: base + i for i, h in enumerate(new, 1)}}
    own = [c for c in answer.citations if c.doc_id == doc_id]
    passages = [(c.n, quoted_part(c), True) for c in own] + [(c.n, c.text, False) for c in own]
    passages += [(numbers[h.chunk.chunk_id], h.chunk.text, False) for h in new]
    region = region_of(doc_id)
    checklist = build_checklist(answer.question, passages, region, as_of, answer.language)
    quotes: dict[int, list[str]] = {}
    for condition in checklist:
        if condition.text not in quotes.setdefault(condition.n, []):
            quotes[condition.n].append(condition.text)
    # The answer's own marks keep their numbers; the clauses only the checklist cites
    # follow them without gaps.
    renumber: dict[int, int] = {}
    extra: list[Citation] = []
    for hit in new:
        n = numbers[hit.chunk.chunk_id]
        if n in quotes:
            renumber[n] = base + len(extra) + 1
            extra.append(Citation.from_hit(renumber[n], hit, "\n".join(quotes[n])))
    return replace(
        answer,
        citations=(*answer.citations, *extra),
        checklist=tuple(replace(c, n=renumber.get(c.n, c.n)) for c in checklist),
    )


class ChecklistRoute:
    """Adds the eligibility checklist (or, for a how-to-apply question, the deadline, materials
    and channel) to an answer about whether or how one may apply."""

    def __init__(self, retriever: HybridRetriever, library: Library) -> None:
        self.retriever = retriever
        self.library = library

    def finish(self, asked: Asked, answer: Answer, hits: list[Hit]) -> Answer:
        lead = answer.citations[0].quote.split("\n")[0] if answer.citations else ""
        if answer.refused or not checklist_kinds(asked.question) or repeals(lead):
            return answer
        return with_checklist(
            answer, hits, asked.as_of, self._search_document, self._region, self._quoted_part
        )

    def _search_document(self, probe: str, doc_id: str) -> list[Hit]:
        return self.retriever.search(probe, top_k=6, filters={"doc_id": [doc_id]})

    def _quoted_part(self, citation: Citation) -> str:
        """The passage's text within the smallest part of its document (clause, item,
        section) that holds the whole quote; the whole passage when none is known."""
        structure = self.library.store.document_structure(citation.doc_id)
        entries = structure.entries if structure is not None else ()
        holding = [
            e for e in entries if e.start <= citation.quote_start and citation.quote_end <= e.end
        ]
        if not holding or citation.quote_end <= citation.quote_start:
            return citation.text
        part = min(holding, key=lambda e: e.end - e.start)
        begin = max(part.start, citation.start) - citation.start
        return citation.text[begin : min(part.end, citation.end) - citation.start]

    def _region(self, doc_id: str) -> str:
        record = self.library.records().get(doc_id)
        return record.info.region if record is not None else ""
