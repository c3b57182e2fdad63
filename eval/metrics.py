"""Retrieval metrics as plain functions over ranked lists."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence


def first_hit_rank(relevant: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant item, or None."""
    for i, ok in enumerate(relevant, start=1):
        if ok:
            return i
    return None


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def unique_in_order(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def spans_overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def locate_span(text: str, answer: str, hint: int | None) -> tuple[int, int] | None:
    """Where ``answer`` sits in ``text`` (the pipeline's normalised text), choosing the
    occurrence nearest to ``hint`` (the dataset's raw offset, which normalisation may shift)."""
    if not answer:
        return None
    found: list[int] = []
    pos = text.find(answer)
    while pos >= 0:
        found.append(pos)
        pos = text.find(answer, pos + 1)
    if not found:
        return None
    best = min(found, key=lambda p: abs(p - hint)) if hint is not None else found[0]
    return best, best + len(answer)


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"[*_`#>|]+")
_CITATION_MARK = re.compile(r"\[\d+\]")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
# Variant forms that reprints of one notice use for the same character: 151 of the 599 ncp
# notices write 後 for 后, and a reference taken from one reprint is quoted from another.
_VARIANTS = str.maketrans({"後": "后"})


def normalize_for_match(text: str) -> str:
    """Text as compared by the answer and evidence metrics: markdown links and emphasis
    stripped, citation marks dropped, case and punctuation and spaces removed, variant forms
    of a character read as one (後 as 后)."""
    text = _MD_LINK.sub(r"\1", text).translate(_VARIANTS)
    text = _CITATION_MARK.sub("", text)
    text = _MD_MARKS.sub(" ", text)
    return _PUNCT.sub("", text).lower()


def answer_contains(answer: str, references: Sequence[str]) -> float:
    """1.0 when any normalised reference is found in the normalised answer."""
    norm = normalize_for_match(answer)
    return 1.0 if any(r and normalize_for_match(r) in norm for r in references) else 0.0


def _f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return 0.0
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def answer_f1(answer: str, references: Sequence[str], language: str) -> float:
    """Best F1 against any reference: characters for Chinese, lower-cased words for English."""
    if language == "zh":
        units: Callable[[str], list[str]] = lambda t: list(normalize_for_match(t))  # noqa: E731
    else:
        units = lambda t: re.findall(r"[a-z0-9]+", _CITATION_MARK.sub("", t).lower())  # noqa: E731
    pred = units(answer)
    return max((_f1(pred, units(r)) for r in references if r), default=0.0)


def evidence_in_text(quote: str, text: str) -> bool:
    """Whether a gold evidence quote is in a passage: the whole normalised quote, or for long
    quotes (which a chunk boundary may cut) its first or last 60 normalised characters."""
    q, t = normalize_for_match(quote), normalize_for_match(text)
    if not q:
        return False
    if q in t:
        return True
    return len(q) > 80 and (q[:60] in t or q[-60:] in t)


def precision_recall(cited_ok: Sequence[bool], gold_found: Sequence[bool]) -> tuple[float, float]:
    """Citation precision (share of cited passages that are gold) and recall (share of gold
    evidence units that some citation covers); 0 for an empty side."""
    precision = sum(cited_ok) / len(cited_ok) if cited_ok else 0.0
    recall = sum(gold_found) / len(gold_found) if gold_found else 0.0
    return precision, recall
