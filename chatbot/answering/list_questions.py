"""Which questions ask for a list of policies rather than for a passage: the policies there
are ("有哪些政策？"), those no longer in force ("哪些政策已经失效了？"), and those that name a kind
of enterprise ("小微企业能享受哪些扶持？"). ``policy_list`` answers them."""

from __future__ import annotations

import re

from chatbot.answering import crosslingual
from chatbot.answering.asking import asks_subjects
from chatbot.answering.measures import SUPPORT
from index_store.keyword import tokenize
from index_store.language import detect_language

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
_TOWARDS = "针对|适用于|面向|对于|对|给|关于"  # the words before a kind it is for
_ZH_KIND = re.compile(
    f"(?:^|{_TOWARDS})(?P<kind>(?:(?!针对|适用于|面向|哪些|什么|的|是|有|能|可以|"
    "享受)[\u4e00-\u9fff]){1,12}?(?:企业|工商户|个体户|商户|公司|经营主体|市场主体))"
)
_ZH_TOWARDS = re.compile(f"{_TOWARDS}|适用")
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
    asks = (support and bool(words & _EN_WHICH)) or (applies and bool(words & _EN_MAY))
    return tuple(dict.fromkeys(kinds)) if asks and kinds else None
