"""The question as asked: cleaned and bounded, and, for a follow-up, what it is about."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chatbot.answering.llm import Role
from index_store.errors import InvalidQuestionError
from index_store.language import detect_language

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLLOW_UP = re.compile(r"^(那|那么|还有|另外|此外|它|这|and\b|what about|how about|also\b)", re.I)


# A follow-up that swaps one part of the question before it and asks nothing of its own: "And
# for Standard customers?", "What about severity 2?", "重新认定呢？" (a 呢 question without a
# question word of its own).
_ELLIPTICAL = re.compile(
    r"^(?:and\s+)?(?:for|what about|how about)\b"
    r"(?!.*\b(?:what|when|how|who|which|where|why|is|are|do|does|can)\b)"
    r"|^(?!.*(?:什么|哪|多少|多久|多长|怎|如何|几|吗|是否|谁|为何)).*呢[？?]?$",
    re.I,
)


def elliptical(question: str) -> bool:
    """Whether ``question`` swaps one part of the question before it and so asks what that
    question asked ("And for Standard customers?", "重新认定呢？")."""
    return _ELLIPTICAL.search(question.strip()) is not None


# Where a question asks a second thing: after a question mark or semicolon inside it, or at a
# comma that a joining word follows ("重新认定能拿多少，同时还能拿首次认定奖励吗？").
_JOINING = r"同时|另外|此外|以及|还有"
_ASKING_EN = r"what|how|when|who|which|where|can|is|are|do|does"
_PART_BREAK = re.compile(
    r"(?<=[？?；;])\s*(?=[^\s”’」』\"'）)])"  # not a question mark that a quote closes
    rf"|[，,]\s*(?=(?:{_JOINING}|also\b|and\s+(?:{_ASKING_EN})\b))",
    re.I,
)
_LEADING_JOIN = re.compile(rf"^(?:{_JOINING}|also\b|and\b)\s*", re.I)


def question_parts(question: str) -> list[str]:
    """The questions ``question`` asks, each without the joining word that asks it
    ("X？Y？" or "X，同时Y？" ask two); one part when it asks one thing."""
    parts = (_LEADING_JOIN.sub("", p.strip(" ，,")) for p in _PART_BREAK.split(question.strip()))
    return [p for p in parts if p]


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation."""

    role: Role
    content: str


def clean_question(question: str, max_chars: int) -> str:
    """The question with control characters removed; empty or over-long ones are errors."""
    cleaned = _CONTROL.sub(" ", question).strip()
    if not cleaned:
        raise InvalidQuestionError("the question is empty")
    if len(cleaned) > max_chars:
        raise InvalidQuestionError(
            f"the question has {len(cleaned)} characters; the limit is {max_chars}"
        )
    return cleaned


def follow_up_query(question: str, history: Sequence[Turn]) -> str:
    """Extractive follow-ups: a short or elliptical question carries the previous user
    question's topic into retrieval ("那申报截止时间呢？"). A run of them carries the topic of
    the question that began it: after "房租减免有哪些规定？" and "国企的呢？", "最多补多少？" is
    still about 房租减免."""
    return _carried(question, earlier_query(history) or None)


def earlier_query(history: Sequence[Turn]) -> str:
    """What the last user question of ``history`` searched for, with the topic it carried; ""
    when there is none."""
    query: str | None = None
    for turn in history:
        if turn.role == "user":
            query = _carried(turn.content, query)
    return query or ""


def _carried(question: str, previous: str | None) -> str:
    """``question`` as it searches after ``previous`` (itself as it searched)."""
    if previous is None:
        return question
    short = len(question) < 14 if detect_language(question) == "zh" else len(question.split()) < 7
    if short or _FOLLOW_UP.match(question) or elliptical(question):
        return f"{previous} {question}"
    return question
