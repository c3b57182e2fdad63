from __future__ import annotations

import pytest

from eval.metrics import (
    first_hit_rank,
    hit_at,
    locate_span,
    mean,
    reciprocal_rank,
    spans_overlap,
    unique_in_order,
)


@pytest.mark.parametrize(
    ("relevant", "rank"),
    [([False, True, True], 2), ([True], 1), ([False, False], None), ([], None)],
)
def test_first_hit_rank(relevant: list[bool], rank: int | None) -> None:
    assert first_hit_rank(relevant) == rank


@pytest.mark.parametrize(
    ("ranks", "k", "hit", "mrr"),
    [
        ([1, 2, None, 6], 5, (1 + 1 + 0 + 0) / 4, (1 / 1 + 1 / 2 + 0 + 0) / 4),
        ([1, 2, None, 6], 10, (1 + 1 + 0 + 1) / 4, (1 / 1 + 1 / 2 + 0 + 1 / 6) / 4),
        ([3, 3], 1, 0 / 2, 0 / 2),
    ],
)
def test_hit_and_mrr_arithmetic(ranks: list[int | None], k: int, hit: float, mrr: float) -> None:
    assert mean([hit_at(r, k) for r in ranks]) == pytest.approx(hit)
    assert mean([reciprocal_rank(r, k) for r in ranks]) == pytest.approx(mrr)


def test_mean_of_nothing_is_zero() -> None:
    assert mean([]) == 0.0


def test_unique_in_order() -> None:
    assert unique_in_order(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [((0, 10), (9, 12), True), ((0, 10), (10, 12), False), ((5, 6), (0, 100), True)],
)
def test_spans_overlap(a: tuple[int, int], b: tuple[int, int], overlap: bool) -> None:
    assert spans_overlap(*a, *b) is overlap


def test_locate_span_prefers_the_occurrence_nearest_the_raw_offset() -> None:
    text = "补贴50万元。其他条款。补贴50万元。"
    # raw offset 13 (shifted by normalisation) is nearer the second occurrence at 12
    assert locate_span(text, "补贴50万元", 13) == (12, 12 + len("补贴50万元"))
    assert locate_span(text, "补贴50万元", 0) == (0, len("补贴50万元"))
    assert locate_span(text, "不存在", 0) is None
    assert locate_span(text, "", 0) is None
