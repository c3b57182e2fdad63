"""Retrieval metrics as plain functions over ranked lists."""

from __future__ import annotations

from collections.abc import Sequence


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
