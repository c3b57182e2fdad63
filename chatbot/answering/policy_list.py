"""Questions about the library itself: "有哪些政策？", "What policies do you have?". Such a
question names no topic, so no passage answers it (a search quoted the demo's disclaimer line, or
the clause that repeals an old policy, for "有哪些扶持政策？"). The answer is the list of the
policies the question's scope allows, newest first, each citing its document's opening passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from chatbot.answering import crosslingual
from chatbot.answering.asked import Asked
from chatbot.answering.asking import asks_subjects
from chatbot.answering.documents import Library
from chatbot.answering.measures import SUPPORT, measures, naming_sentence
from chatbot.answering.position import PassageReader
from chatbot.answering.prompts import CATALOGUE
from index_store.ids import chunk_id
from index_store.keyword import tokenize
from index_store.language import detect_language
from index_store.policy import Scope
from index_store.records import Answer, Chunk, Citation, DocumentRecord, Hit

ListKind = Literal["in_force", "all", "lapsed"]  # which policies a list shows
MAX_LISTED = 10  # a library of hundreds is listed by its newest; the rest are found by topic

# A Chinese question is about the library when, without these words, only 政策, 文件 or 措施 is
# left and it asks for a list ("企业可以享受哪些扶持措施？" names no measure: the policies are
# the way in), or for when they apply ("这些政策什么时候到期？": the list shows each one's
# validity). Longer words first: 有效期 goes before 有效, 有效 before 有. 是 alone stays: "是什么
# 政策？" asks about one policy.
_ZH_FILLER = re.compile(
    "请问|请|你们|您们|您|你|这里|本系统|系统|知识库|目前|现在|当前|现有|都|一共|总共|可以|可|"
    "能够|能|查询|查到|查|咨询|回答|问|的|了|呢|吗|啊|一下|给我|看看|现行有效|现行|有效期是|有效期|有效|"
    "在用|最新|扶持|惠企|优惠|支持|帮扶|企业|享受|收录|包含|包括|涉及|相关|清单|目录|列表|列出|"
    "列举|所有|全部|各项|各个|这些|那些|它们|哪些|哪几份|哪几个|什么时候|什么|何时|几份|几个|多少|"
    "到期|失效|截止|施行|生效|到|多久|有"
)
_ZH_OBJECT = re.compile("(?:政策|文件|办法|措施|举措)+")
_ZH_LIST = re.compile(
    "哪些|哪几|什么|几份|几个|多少|列出|列举|所有|全部|清单|目录|列表|这些|那些|何时|有效期"
)
_PUNCTUATION = re.compile(r"[\s\W_]+")
_EN_FILLER = frozenset(
    {
        *("what", "which", "how", "many", "list", "show", "tell", "give", "me", "please"),
        *("all", "the", "of", "your", "you", "i", "we", "this", "system"),
        *("do", "does", "have", "has", "are", "is", "there", "can", "could", "know"),
        *("ask", "about", "answer", "question", "questions", "on", "cover", "covered"),
        *("available", "in", "force", "current", "currently", "effective", "valid"),
        *("when", "these", "they", "them", "expire", "until", "from", "start", "end"),
    }
)
_EN_OBJECT = frozenset({"policies", "documents", "docs"})
_EN_LIST = frozenset({"what", "which", "list", "show", "all", "many", "when", "these"})


# Words that ask for the policies no longer in force: "哪些政策已经失效了？", "Which policies have
# expired?". 到期 alone asks when they end, which the list in force shows.
_LAPSED_WORDS = "失效|废止|废除|过期|作废|停止执行|不再执行|替代|取代"
_ZH_LAPSED = re.compile(f"已经|已|被|了|{_LAPSED_WORDS}")
_ZH_LAPSED_ASKS = re.compile(f"{_LAPSED_WORDS}|已经?到期|到期了")
_EN_LAPSED = frozenset(
    {
        *("expired", "repealed", "superseded", "replaced", "lapsed", "revoked"),
        *("no", "longer", "out", "were", "was", "been", "already", "now"),
    }
)
_EN_LAPSED_ASKS = frozenset({"expired", "repealed", "superseded", "replaced", "lapsed", "revoked"})


def asks_for_lapsed(question: str) -> bool:
    """Whether ``question`` asks which policies have expired or been repealed, naming no topic
    of its own."""
    words = re.findall(r"[a-z]+", question.lower())
    if words:
        asks = bool(_EN_LAPSED_ASKS & set(words)) or "no longer" in " ".join(words)
    else:
        asks = _ZH_LAPSED_ASKS.search(_PUNCTUATION.sub("", question)) is not None
    return asks and _asks_for_list(question, _EN_LAPSED, _ZH_LAPSED)


def asks_for_catalogue(question: str) -> bool:
    """Whether ``question`` asks which policies there are, naming no topic of its own: not
    who may apply for them (哪些企业可以享受这些政策？ is not 企业可以享受哪些政策？)."""
    return _asks_for_list(question) and not asks_subjects(question)


def _asks_for_list(
    question: str, en_also: frozenset[str] = frozenset(), zh_also: re.Pattern[str] | None = None
) -> bool:
    """Whether ``question`` asks for a list of policies and, without the filler words (and
    ``en_also`` or ``zh_also``, the words of a narrower list), names only policies."""
    words = re.findall(r"[a-z]+", question.lower())
    if words:
        return (
            bool(_EN_OBJECT & set(words))
            and bool(_EN_LIST & set(words))
            and all(w in _EN_FILLER or w in _EN_OBJECT or w in en_also for w in words)
        )
    text = _PUNCTUATION.sub("", question)
    rest = _ZH_FILLER.sub("", zh_also.sub("", text) if zh_also else text)
    return bool(_ZH_LIST.search(text)) and _ZH_OBJECT.fullmatch(rest) is not None


# A question that names a kind of enterprise and asks which support it gets: "小微企业能享受哪些
# 扶持？", "我们公司是小微企业，有什么补贴？", "有哪些针对小微企业的扶持政策？". No passage answers
# it: a search quoted the clause that repeals an old 小微企业 policy, whose title holds every word
# of the question. The policies that name the kind answer it, with their measures.
_ZH_SELF = re.compile(
    "^(?:请问)?(?:(?:我们|我|本|咱们)(?:公司|企业|单位|司|厂)?(?:是|属于|作为|为)|作为)"
    "(?:一家|一个|一户)?"
)
_ZH_KIND = re.compile(
    "(?:^|针对|适用于|面向|对于|对|给|关于)(?P<kind>(?:(?!针对|适用于|面向|哪些|什么|的|是|有|能|可以|"
    "享受)[\u4e00-\u9fff]){1,12}?(?:企业|工商户|个体户|商户|公司|经营主体|市场主体))"
)
_ZH_TOWARDS = re.compile("针对|适用于|适用|面向|对于|对|给|关于")
_ZH_WHICH = re.compile("哪些|什么|哪几|何种|啥")
# Or whether it may apply at all, naming no measure: "小微企业能申请吗？", "个体工商户能否申报？".
_ZH_MAY_APPLY = re.compile("(?:能|可以|可|能否|可否)(?:申请|申报|享受)")
_ZH_APPLYING = re.compile("申请|申报|能否|可否|是否")


def kind_asked(question: str) -> tuple[str, ...] | None:
    """The words for the kind of enterprise ``question`` asks the support of, or whether it
    may apply, naming nothing else, as asked first: 小微企业 in "小微企业能享受哪些扶持？";
    小微企业, 中小微企业, 小型企业 for "What support can small businesses get?", read through the
    policy glossary. None for any other question: one that names a measure, a place or a
    condition (受疫情影响的小微企业), or asks who may apply."""
    if detect_language(question) != "zh":
        return _english_kind(question)
    text = _ZH_SELF.sub("", _PUNCTUATION.sub("", question))
    which = _ZH_WHICH.search(text) and SUPPORT.search(text)
    if not (which or _ZH_MAY_APPLY.search(text)) or asks_subjects(question):
        return None
    match = _ZH_KIND.search(text)
    if match is None or not _ZH_FILLER.sub("", match["kind"]):  # 相关企业 names no kind
        return None
    rest = text[: match.start("kind")] + text[match.end("kind") :]
    if _ZH_FILLER.sub("", _ZH_APPLYING.sub("", _ZH_TOWARDS.sub("", SUPPORT.sub("", rest)))):
        return None
    kind = match["kind"]
    return tuple(dict.fromkeys([kind, kind.replace("中小企业", "中小微企业")]))


_EN_WHICH = frozenset({"what", "which"})
# Verbs and words around an English question of this kind that name nothing it asks about.
_EN_ASKING = frozenset(tokenize("get receive enjoy available offer there my our as"))
# Whether it may apply at all: "Can small businesses apply?", "Are SMEs eligible?".
_EN_MAY = frozenset({"can", "could", "are", "is", "do", "does"})
_EN_APPLYING = frozenset(tokenize("apply eligible qualify"))
_GENERIC = "企业"  # company, enterprise, firm: the kind is the word before it


def _english_kind(question: str) -> tuple[str, ...] | None:
    """``kind_asked`` for an English question: which support (support, subsidies, benefits,
    policies...) a kind of enterprise the glossary knows gets, or whether it may apply,
    nothing else named."""
    words = set(re.findall(r"[a-z]+", question.lower()))
    if not words & (_EN_WHICH | _EN_MAY) or "how" in words:
        return None
    kinds: list[str] = []
    support = applies = False
    modifier: tuple[str, ...] = ()  # foreign-invested, before enterprises
    for term in crosslingual.terms(question):
        meanings = term.meanings
        single = term.words[0] if len(term.words) == 1 else ""
        if modifier and _GENERIC not in meanings:
            return None  # "the IPO reward": a word before one that names no enterprise
        if any(SUPPORT.fullmatch(m) for m in meanings):
            support = True
        elif specific := [m for m in meanings if m.endswith(_GENERIC) and m != _GENERIC]:
            kinds.extend(specific)
        elif _GENERIC in meanings:
            kinds.extend(m + _GENERIC for m in modifier)
        elif single in _EN_APPLYING:
            applies = True
        elif single in _EN_ASKING:
            pass
        elif meanings and not kinds:
            modifier = meanings
            continue
        else:
            return None
        modifier = ()
    asks = (support and words & _EN_WHICH) or (applies and words & _EN_MAY)
    return tuple(dict.fromkeys(kinds)) if asks and kinds else None


_ZH_NUMBERS = {c: i for i, c in enumerate("一二三四五六七八九十", 1)}
_EN_ORDINALS = {
    w: i
    for i, w in enumerate(
        ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"), 1
    )
}
# "第二个政策", "第3份", "最后一个"; "the second one", "the 3rd policy", "number 2", "the last".
# Another noun after the place names something else ("第一个步骤", "the first step").
_ZH_PICK = re.compile(
    r"(?:第(?P<zh>[一二三四五六七八九十]|\d{1,2})\s*(?:个|份|项)|最后一\s*(?:个|份|项))"
    r"(?:政策文件|政策|文件|办法|(?=的|呢|吗|是|有|怎|如|能|可|要|[\s\W]|$))"
)
_EN_PICK = re.compile(
    r"\b(?:the\s+)?(?:(?P<en>" + "|".join(_EN_ORDINALS) + r")|(?P<num>\d{1,2})(?:st|nd|rd|th)"
    r"|(?P<last>last))(?:\s+(?:one|policy|document)\b|\W*$)|\b(?:number|no\.)\s*(?P<no>\d{1,2})\b",
    re.I,
)


def picked(question: str, listed: int) -> tuple[int, str] | None:
    """For a follow-up to a list of ``listed`` policies, the 0-based position it names
    ("第二个政策的申请条件？", "And the last one?") and the words that name it; None when it
    names none, or one past the list."""
    match = _ZH_PICK.search(question) or _EN_PICK.search(question)
    if match is None:
        return None
    groups = match.groupdict()
    if groups.get("zh"):
        n = _ZH_NUMBERS.get(groups["zh"]) or int(groups["zh"])
    elif groups.get("en"):
        n = _EN_ORDINALS[groups["en"].lower()]
    elif groups.get("num") or groups.get("no"):
        n = int(groups.get("num") or groups["no"])
    else:  # 最后一个, the last
        n = listed
    return (n - 1, match.group()) if 1 <= n <= listed else None


def distinct(records: Sequence[DocumentRecord]) -> list[DocumentRecord]:
    """``records`` with each policy once: a file indexed twice (two folders, a renamed copy)
    is one policy, known by its title and 文号 or version, or without those by its content."""
    seen: set[tuple[str, ...]] = set()
    out: list[DocumentRecord] = []
    for record in records:
        number = record.info.doc_number
        key = (record.title, number) if number else (record.content_hash,)
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out


def newest(records: Sequence[DocumentRecord]) -> list[DocumentRecord]:
    """The ``MAX_LISTED`` newest of ``records`` (by effective, else publish date), newest first."""
    return sorted(records, key=_newest_first, reverse=True)[:MAX_LISTED]


def _newest_first(record: DocumentRecord) -> tuple[str, str]:
    info = record.info
    return (info.effective or info.published, record.title)


@dataclass(frozen=True)
class Listed:
    """A policy in a list: its policy line (《title》（文号，validity）), the passage cited for it,
    the quote shown from that passage, and the names of its measures."""

    policy: str
    passage: Chunk
    quote: str
    measures: tuple[str, ...] = ()


def catalogue_answer(
    question: str,
    count: int,
    listed: Sequence[Listed],
    language: str,
    kind: ListKind,
    naming: str | None = None,
) -> Answer:
    """``count`` policies (the ones the scope allows: ``kind`` says whether only those in
    force, all, or those no longer in force; with ``naming``, those of them that name that
    kind of enterprise), of which ``listed`` (``newest``) are named by their policy line and
    measures, each citing its passage. None lapsed is an answer; no policy at all is a
    refusal."""
    words = CATALOGUE[language]
    if not listed:
        lapsed = kind == "lapsed"
        text = words["none_lapsed" if lapsed else "none"]
        return Answer(question, text, "extractive", not lapsed, (), language=language)
    citations: list[Citation] = []
    lines: list[str] = []
    for n, item in enumerate(listed, 1):
        citations.append(Citation.from_hit(n, Hit(chunk=item.passage, score=1.0), item.quote))
        line = words["item"].format(n=n, policy=item.policy)
        if item.measures:
            line += words["measures"].format(names=words["and"].join(item.measures))
        lines.append(line)
    shown = words["newest"].format(shown=len(listed)) if count > len(listed) else ""
    head = words[f"naming_{kind}" if naming else kind].format(
        count=count, newest=shown, kind=naming
    )
    text = "\n".join([head, *lines, words["tail"]])
    return Answer(question, text, "extractive", False, tuple(citations), language=language)


def first_line(chunk: Chunk) -> str:
    """The passage's first line that is not blank: a policy's opening passage shows its title."""
    return next((line.strip() for line in chunk.text.splitlines() if line.strip()), "")


NAMING_SEARCH = 300  # passages searched for a kind of enterprise; each policy is listed once


class CatalogueRoute:
    """Answers a question about the library itself with the policies its scope allows, and a
    question about a kind of enterprise's support with those that name it."""

    def __init__(self, library: Library, passages: PassageReader) -> None:
        self.library = library
        self.passages = passages

    def answer(self, asked: Asked) -> Answer | None:
        """The list of policies, or None when ``asked`` is not about the library. The list of
        those no longer in force carries each one's warning (expired on, repealed by)."""
        listing = self.listing(asked.question, asked.scope, asked.language)
        if listing is None:
            return None
        answer = self.library.annotate(listing, asked.as_of)
        return replace(answer, basis=())  # each policy's line is in the list already

    def listing(self, question: str, scope: Scope, language: str) -> Answer | None:
        """The list ``question`` asks for; None when it asks for none."""
        if asks_for_lapsed(question):
            return self.policies(question, scope, language, lapsed=True)
        if asks_for_catalogue(question):
            return self.policies(question, scope, language)
        kinds = kind_asked(question)
        return self.naming(question, kinds, scope, language) if kinds else None

    def policies(self, question: str, scope: Scope, language: str, lapsed: bool = False) -> Answer:
        """The policies ``scope`` allows, newest first, each citing its opening passage; with
        ``lapsed``, those of them that have expired or been repealed on the scope's day."""
        if lapsed:
            scope = replace(scope, in_force_only=False)
        records = self.library.records()
        allowed = self.library.filters(scope)
        if allowed is not None:
            records = {d: records[d] for d in allowed["doc_id"] if d in records}
        if lapsed:
            day = scope.day(self.library.today())
            records = {
                d: r
                for d, r in records.items()
                if self.library.status(d, day)[0] in ("expired", "superseded")
            }
        policies = distinct(list(records.values()))
        shown = newest(policies)
        openings = self.passages.chunks([chunk_id(r.doc_id, 0) for r in shown])
        listed = [
            self._listed(r, c, first_line(c), language)
            for r in shown
            if (c := openings.get(chunk_id(r.doc_id, 0)))
        ]
        kind: ListKind = "lapsed" if lapsed else "in_force" if scope.in_force_only else "all"
        return catalogue_answer(question, len(policies), listed, language, kind)

    def naming(
        self, question: str, kinds: tuple[str, ...], scope: Scope, language: str
    ) -> Answer | None:
        """The policies ``scope`` allows that name a kind of enterprise by one of ``kinds``
        (among the best ``NAMING_SEARCH`` passages a keyword search for them finds), newest
        first, each citing its best passage and the sentence there that names it; None when
        none does, or one does with no measures to name (the question is then searched as any
        other)."""
        found = self.passages.keyword_index().search(
            " ".join(kinds), NAMING_SEARCH, self.library.filters(scope)
        )
        chunks = self.passages.chunks([h.chunk_id for h in found])
        records = self.library.records()
        named: dict[str, tuple[Chunk, str]] = {}
        for hit in found:
            chunk = chunks.get(hit.chunk_id)
            sentence = naming_sentence(chunk.text, kinds) if chunk else None
            if chunk is None or sentence is None:
                continue
            # A clause that names the kind (本措施适用于…中小微企业) says more than the title.
            if chunk.doc_id not in named or chunk.title in named[chunk.doc_id][1]:
                named[chunk.doc_id] = (chunk, sentence)
        policies = distinct([records[d] for d in named if d in records])
        listed = [self._listed(r, *named[r.doc_id], language) for r in newest(policies)]
        if len(listed) < 2 and not any(item.measures for item in listed):
            # One policy's title says no more than its passages: "高新技术企业有什么奖励？" is
            # answered by the clause that sets the award.
            return None
        in_force: ListKind = "in_force" if scope.in_force_only else "all"
        return catalogue_answer(question, len(policies), listed, language, in_force, kinds[0])

    def _listed(self, record: DocumentRecord, passage: Chunk, quote: str, language: str) -> Listed:
        policy = self.library.policy_line(record, language)
        names = measures(self.passages.document_structure(record.doc_id), record.title)
        return Listed(policy, passage, quote, tuple(names))


class PickRoute:
    """After a list of policies, a question that names a place in it ("第二个政策的申请条件
    是什么？") is asked of that policy."""

    def __init__(self, catalogue: CatalogueRoute) -> None:
        self.catalogue = catalogue

    def rewrite(self, asked: Asked) -> Asked | None:
        """``asked`` with that policy's title for the words that named it, the scope narrowed
        to it and no history; None for any other question."""
        history = asked.history
        previous = next((t.content for t in reversed(history) if t.role == "user"), None)
        if previous is None:
            return None
        listed = self.catalogue.listing(previous, asked.scope, detect_language(previous))
        if listed is None:
            return None
        listing = listed.citations
        choice = picked(asked.question, len(listing))
        if choice is None:
            return None
        place, words = choice
        named = asked.question.replace(words, listing[place].title, 1)
        scope = replace(asked.scope, doc_ids=(listing[place].doc_id,))
        return replace(asked, question=named, scope=scope, history=())
