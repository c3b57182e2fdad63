from __future__ import annotations

import pytest

from chatbot.retrieval import rrf_fuse, score_fuse


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
def test_score_fusion_arithmetic(
    dense: list[tuple[str, float]],
    keyword: list[tuple[str, float]],
    weight: float,
    expected: list[tuple[str, float]],
) -> None:
    fused = score_fuse(dense, keyword, weight)
    assert [i for i, _ in fused] == [i for i, _ in expected]
    assert [s for _, s in fused] == pytest.approx([s for _, s in expected])
