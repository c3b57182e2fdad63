from __future__ import annotations

import statistics

import pytest

from chatbot.answering.retrieval import rrf_fuse, score_fuse


@pytest.mark.parametrize(
    ("rankings", "expected"),
    [
        # a: 1/(60+1) + 1/(60+2); b: 1/(60+2) + 1/(60+1); c: 1/(60+3)
        (
            [(1.0, ["a", "b", "c"]), (1.0, ["b", "a"])],
            [("a", 1 / 61 + 1 / 62), ("b", 1 / 62 + 1 / 61), ("c", 1 / 63)],
        ),
        # weights scale each ranking: d: 2/(60+1); e: 1/(60+1)
        ([(2.0, ["d"]), (1.0, ["e"])], [("d", 2 / 61), ("e", 1 / 61)]),
        ([(1.0, []), (1.0, [])], []),
    ],
)
def test_rrf_arithmetic(
    rankings: list[tuple[float, list[str]]], expected: list[tuple[str, float]]
) -> None:
    fused = rrf_fuse(rankings, rrf_k=60)
    assert [i for i, _ in fused] == [i for i, _ in expected]
    assert [s for _, s in fused] == pytest.approx([s for _, s in expected])


@pytest.mark.parametrize(
    ("dense", "keyword", "weight", "expected"),
    [
        # dense scaled: a (0.9-0.5)/(0.9-0.5)=1, b 0; keyword scaled: b (12-2)/(12-2)=1, c 0
        # a: 0.5*1; b: 0.5*0 + 0.5*1; c: 0.5*0
        ([("a", 0.9), ("b", 0.5)], [("b", 12.0), ("c", 2.0)], 0.5, [("a", 0.5), ("b", 0.5), ("c", 0.0)]),
        # the weight shifts it: a 0.8*1; b 0.2*1; c 0
        ([("a", 0.9), ("b", 0.5)], [("b", 12.0), ("c", 2.0)], 0.8, [("a", 0.8), ("b", 0.2), ("c", 0.0)]),
        # a middle score keeps its distance: d (0.7-0.5)/(0.9-0.5)=0.5 -> 0.3*0.5; e 0.3*1 + 0.7*1
        ([("e", 0.9), ("d", 0.7), ("f", 0.5)], [("e", 3.0)], 0.3, [("e", 1.0), ("d", 0.15), ("f", 0.0)]),
        ([], [], 0.5, []),
    ],
)  # fmt: skip
def test_minmax_fusion_arithmetic(
    dense: list[tuple[str, float]],
    keyword: list[tuple[str, float]],
    weight: float,
    expected: list[tuple[str, float]],
) -> None:
    fused = score_fuse(dense, keyword, weight, "minmax")
    assert [i for i, _ in fused] == [i for i, _ in expected]
    assert [s for _, s in fused] == pytest.approx([s for _, s in expected])


def _spread(pairs: list[tuple[str, float]]) -> dict[str, float]:
    """mean - 3 sd -> 0, mean + 3 sd -> 1 (population sd)."""
    scores = [score for _, score in pairs]
    mean, sd = statistics.fmean(scores), statistics.pstdev(scores)
    return {item: (score - mean + 3 * sd) / (6 * sd) for item, score in pairs}


def test_score_fusion_scales_each_list_by_its_spread_so_one_outlier_does_not_decide() -> None:
    # BM25 gives x an outlier score. Min-max puts y's BM25 score near the bottom of its list,
    # so x wins on BM25 alone; scaled by their spread, y (first for dense, second for BM25)
    # stays first.
    dense = [("y", 0.90), ("z", 0.80), ("x", 0.79), ("w", 0.78)]
    keyword = [("x", 30.0), ("y", 6.0), ("z", 5.0), ("w", 4.0)]
    assert [i for i, _ in score_fuse(dense, keyword, 0.5, "minmax")][:2] == ["x", "y"]
    fused = score_fuse(dense, keyword, 0.5)
    d, k = _spread(dense), _spread(keyword)
    assert [i for i, _ in fused] == ["y", "x", "z", "w"]
    assert dict(fused) == pytest.approx({i: 0.5 * d[i] + 0.5 * k[i] for i in d})
    # A candidate one list lacks counts as that list's lowest (a: mean 0.7, sd 0.2, so 0.5
    # scales to 1/3); a list of one scales to 1, and what it lacks counts 0.
    fused = dict(score_fuse([("a", 0.9), ("b", 0.5)], [("c", 7.0)], 0.5))
    assert fused == pytest.approx({"a": 0.5 * 2 / 3, "b": 0.5 / 3, "c": 0.5 / 3 + 0.5})
