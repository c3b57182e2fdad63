from __future__ import annotations

import pytest

from eval.metrics import (
    answer_contains,
    answer_f1,
    evidence_in_text,
    first_hit_rank,
    hit_at,
    locate_span,
    mean,
    precision_recall,
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


@pytest.mark.parametrize(
    ("answer", "refs", "expected"),
    [
        ("根据现有政策文件：\n补贴标准为每人每月500元。[1]", ["每人每月500元"], 1.0),
        ("补贴标准为每人每月 500 元[1]", ["每人每月500元"], 1.0),  # spaces and marks ignored
        ("The window is **30 days** [2].", ["30 days", "one month"], 1.0),
        ("See [the policy](https://x.example/p) today", ["the policy today"], 1.0),
        # A reprint that writes 後 for 后 quotes the same text.
        ("检查合格後方可复工。[1]", ["检查合格后方可复工"], 1.0),
        ("补贴为800元", ["500元"], 0.0),
        ("anything", [], 0.0),
    ],
)
def test_answer_contains(answer: str, refs: list[str], expected: float) -> None:
    assert answer_contains(answer, refs) == expected


@pytest.mark.parametrize(
    ("answer", "refs", "language", "expected"),
    [
        # chars: pred 补贴五百元 (5), gold 五百元 (3), common 3 -> p 3/5, r 3/3
        ("补贴五百元", ["五百元"], "zh", 2 * (3 / 5) * 1 / (3 / 5 + 1)),
        # words: pred [refund, in, 30, days] gold [30, days] -> p 2/4, r 1
        ("Refund in 30 days [1]", ["30 days"], "en", 2 * (2 / 4) * 1 / (2 / 4 + 1)),
        # best of several references
        ("30 days", ["one month", "30 days"], "en", 1.0),
        ("nothing shared", ["30 days"], "en", 0.0),
    ],
)
def test_answer_f1(answer: str, refs: list[str], language: str, expected: float) -> None:
    assert answer_f1(answer, refs, language) == pytest.approx(expected)


def test_evidence_in_text_tolerates_markdown_and_cut_quotes() -> None:
    text = "Travelers will ideally book: **Domestic**: At least 14 days in [advance](http://x)."
    assert evidence_in_text("Domestic: At least 14 days in advance", text)
    long_quote = "x" * 10 + " ".join(["word"] * 30) + " tail that the chunk does not hold"
    assert evidence_in_text(long_quote, "xxxxxxxxxx " + " ".join(["word"] * 30))
    assert not evidence_in_text("At least 21 days", text)


@pytest.mark.parametrize(
    ("cited_ok", "gold_found", "expected"),
    [
        ([True, False, True], [True, False], (2 / 3, 1 / 2)),
        ([], [False], (0.0, 0.0)),
        ([True], [], (1.0, 0.0)),
    ],
)
def test_citation_precision_recall(
    cited_ok: list[bool], gold_found: list[bool], expected: tuple[float, float]
) -> None:
    assert precision_recall(cited_ok, gold_found) == pytest.approx(expected)
