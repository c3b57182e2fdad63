"""What a list of policies says about each one besides its title: the sentence that names a
kind of enterprise, and the measures its headings name."""

from __future__ import annotations

import re

from chatbot.answering.asking import SUBJECTS
from chatbot.answering.extractive import split_sentences
from index_store.numbering import without_marker
from index_store.structure import DocumentStructure

# Words that name support: a question about a kind of enterprise asks for them, and a heading
# over a policy's measures uses them ("第二章 支持措施", "二、奖励标准").
SUPPORT = re.compile(
    "扶持|支持|补贴|补助|奖励|奖补|资助|资金|优惠|政策|措施|举措|待遇|福利|帮扶|惠企|减免"
)


def naming_sentence(text: str, kinds: tuple[str, ...], title: str = "") -> str | None:
    """The sentence of ``text`` that names one of ``kinds`` outside the 《titles》 it cites (the
    clause repealing 《示例市扶持小微企业创业发展办法》 does not name 小微企业): the first that says
    whom the policy is for (本措施适用于…), else the first that names it other than as the
    document's ``title`` does, else the title."""
    found = [
        text[start:end]
        for start, end in split_sentences(text)
        if any(kind in _CITED_TITLE.sub("", text[start:end]) for kind in kinds)
    ]
    return max(found, key=lambda s: naming_rank(s, title), default=None)


def naming_rank(sentence: str, title: str) -> int:
    """How well ``sentence`` says a policy is for a kind of enterprise: 2 when it says whom the
    policy is for, 1 when it says more than the ``title``, 0 for the title."""
    if SUBJECTS.search(sentence):
        return 2
    return 0 if title and title in sentence else 1


_CITED_TITLE = re.compile("《[^》\n]*》")
# A heading whose part holds support measures: "第二章 支持措施", "二、奖励标准".
_MEASURES_HEADING = re.compile(f"{SUPPORT.pattern}|减税|降费|贴息|返还|Benefits?|Support", re.I)
MAX_MEASURES = 8  # named after a policy's line; the rest are a follow-up away


def measures(structure: DocumentStructure | None, title: str) -> list[str]:
    """The names of a policy's measures, as its headings call them: the named parts under a
    heading about support ("第二章 支持措施" holds 第三条 房租减免, 第四条 稳岗返还...), not
    under its ``title`` (《…奖励办法》 heads every part). Parts that only say something
    ("（一）首次认定为…的，一次性给予30万元奖励。") have no name."""
    if structure is None:
        return []
    names = {e.start: _name(e.label) for e in structure.entries}
    supports = {
        at for at, name in names.items() if name != title and _MEASURES_HEADING.search(name)
    }
    found: list[str] = []
    for entry in structure.entries:
        name = names[entry.start]
        if entry.parent in supports and name and name not in found:
            found.append(name)
    return found[:MAX_MEASURES]


MAX_MEASURE_CHARS = 20
_SAYS = re.compile("[。；;，,]")


def _name(label: str) -> str:
    """What a heading calls its part; "" for a line that says something rather than names."""
    name = without_marker(label)
    return "" if len(name) > MAX_MEASURE_CHARS or _SAYS.search(name) else name
