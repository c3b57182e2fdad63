from __future__ import annotations

import pytest

from chatbot.retrieval import rrf_fuse


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
