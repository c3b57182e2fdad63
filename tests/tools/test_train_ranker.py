"""``scripts/train_ranker.py`` end to end on a small SQuAD-style set: collect, fit, load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from index_store.records import Chunk, Hit
from index_store.reranker.features import FeatureRanker

pytestmark = pytest.mark.slow  # the real embedder and cross-encoder

ROOT = Path(__file__).resolve().parents[2]
FILES = ["cmrc2018/cmrc2018_dev.json", "cmrc2018/cmrc2018_trial.json",
         "drcd/DRCD_dev.json", "drcd/DRCD_test.json"]  # fmt: skip
CITIES = [
    "杭州",
    "南京",
    "成都",
    "武汉",
    "西安",
    "长沙",
    "郑州",
    "济南",
    "沈阳",
    "昆明",
    "贵阳",
    "福州",
]


def article(i: int, city: str) -> dict[str, object]:
    facts = [
        f"{city}是一座历史悠久的城市。",
        f"{city}的常住人口约为{(i + 3) * 97}万人。",
        f"{city}的年平均气温为{10 + i}摄氏度，雨水充沛。",
        f"{city}的市花是第{i + 1}号品种的月季。",
    ]
    context = "".join(facts)
    qas = []
    for question, answer in [
        (f"{city}的常住人口有多少？", f"{(i + 3) * 97}万人"),
        (f"{city}的年平均气温是多少？", f"{10 + i}摄氏度"),
        (f"{city}的市花是什么？", f"第{i + 1}号品种的月季"),
    ]:
        qas.append({"question": question,
                    "answers": [{"text": answer, "answer_start": context.index(answer)}]})  # fmt: skip
    return {"title": city, "paragraphs": [{"context": context, "qas": qas}]}


def test_collect_and_fit_write_weights_the_ranker_loads(tmp_path: Path) -> None:
    data = tmp_path / "train-data"
    for n, rel in enumerate(FILES):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        chosen = list(enumerate(CITIES))[n * 3 : n * 3 + 3]
        (data / rel).write_text(json.dumps({"data": [article(i, c) for i, c in chosen]}))
    out = tmp_path / "ranker.json"
    common = ["--train-data", str(data), "--work", str(tmp_path / "work"),
              "--cache", str(tmp_path / "cache"), "--heldout", "0.5", "--out", str(out)]  # fmt: skip
    for stage in ("collect", "fit"):
        done = subprocess.run(
            [sys.executable, "scripts/train_ranker.py", stage, *common],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    weights = json.loads(out.read_text())
    assert weights["features"]["train_questions"] == 36
    # Six articles were held out of the cross-encoder's training: only they carry its logit.
    assert 0 < weights["cross"]["train_questions"] < 36
    for variant in ("features", "cross"):
        report = weights[variant]["heldout"]
        assert report["ranked"]["questions"] > 0 and 0 <= report["answerable_accuracy"] <= 1
    ranker = FeatureRanker(out)
    text = "杭州的常住人口约为291万人。"
    chunk = Chunk("a:0", "a", 0, text, 0, len(text), ("杭州",), None, "a", "杭州")
    order, scores, answerable = ranker.order(
        "杭州的常住人口有多少？", [Hit(chunk, 1.0, dense_score=0.9)], len
    )
    assert order == [0] and len(scores) == 1 and 0 < answerable[0] < 1
