"""The committed feature ranker: its features, its pinned scores, and its order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index_store.errors import ConfigError
from index_store.records import Chunk, Hit
from index_store.reranker.features import (
    CROSS_FEATURES,
    RANK_FEATURES,
    WEIGHTS_FILE,
    FeatureRanker,
    LinearModel,
    rank_features,
)

QUESTION = "小微企业稳岗返还的比例是多少？"
TITLE = "示例市支持中小微企业纾困发展若干措施"
TEXTS = [
    ("a", "对新增流动资金贷款的中小微企业，按贷款市场报价利率的50%给予贴息。", 0.71, 0.60, 3.0),
    ("a", "对上年度不裁员或裁员率不高于5.5%的中小微企业，按上年度实际缴纳失业保险费的60%予以稳岗返还。", 0.66, 0.58, 5.0),
    ("b", "Items can be returned within 30 days of delivery for a full refund.", 0.30, 0.41, None),
]  # fmt: skip


def hits() -> list[Hit]:
    out = []
    for i, (doc, text, fused, dense, keyword) in enumerate(TEXTS):
        chunk = Chunk(f"{doc}:{i}", doc, i, text, 0, len(text), (TITLE,), None, doc, TITLE)
        out.append(Hit(chunk, fused, dense_score=dense, keyword_score=keyword))
    return out


def idf(token: str) -> float:
    return 2.0 if token.startswith("_") else 1.0


def test_features_read_what_retrieval_knows() -> None:
    x = rank_features(QUESTION, hits(), idf)
    f = {name: x[:, i] for i, name in enumerate(RANK_FEATURES)}
    assert x.shape == (3, len(RANK_FEATURES))
    assert f["fused_gap"].tolist() == pytest.approx([0.0, -0.05, -0.41])
    assert f["keyword_share"].tolist() == pytest.approx([0.6, 1.0, 0.0])
    assert f["keyword_missing"].tolist() == [0, 0, 1]
    # The clause that says 稳岗返还 covers more of the question than the one beside it.
    assert f["coverage"][1] > f["coverage"][0] > f["coverage"][2] == 0.0
    assert f["longest_shared"][1] > f["longest_shared"][2]
    # Two candidates of document a, one of b; the second of a is not its document's first.
    assert f["doc_share"].tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 3])
    assert f["doc_first"].tolist() == [1, 0, 1]


# The committed weights' scores for the three hits above, and each one's probability of
# answering: a real check of ranker.json (retrain, then update these).
PINNED_SCORES = [6.288, 6.956, -3.925]
PINNED_ANSWERABLE = [0.050, 0.443, 0.0]


def test_the_committed_weights_put_the_answer_first() -> None:
    ranker = FeatureRanker()
    order, scores, answerable = ranker.order(QUESTION, hits(), idf)
    assert order == [1, 0, 2], scores
    assert scores == pytest.approx(PINNED_SCORES, abs=0.01)
    assert answerable == pytest.approx(PINNED_ANSWERABLE, abs=0.01)
    data = json.loads(WEIGHTS_FILE.read_text())
    assert data["features"]["rank"]["names"] == list(RANK_FEATURES)
    assert data["cross"]["rank"]["names"] == list(RANK_FEATURES + CROSS_FEATURES)


def test_a_linear_model_round_trips_through_json() -> None:
    model = LinearModel(
        ("a", "b"), np.array([1.0, -2.0]), np.array([0.5, 0.0]), np.array([2.0, 1.0]), 0.25
    )
    again = LinearModel.from_json(json.loads(json.dumps(model.to_json())))
    x = np.array([[1.5, 1.0], [0.5, -1.0]])
    assert again.score(x).tolist() == pytest.approx([-1.25, 2.25])


def test_missing_weights_say_how_to_make_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train_ranker"):
        FeatureRanker(tmp_path / "ranker.json")
