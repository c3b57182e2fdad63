"""Feedback becomes a regression test: rate, review, export, and `policyqa eval` runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatbot.answering.service import AnswerConfig, AnswerService
from chatbot.ui.render import answer_json
from chatbot.web.feedback import FeedbackStore, eval_case, export_eval_set, index_corpus
from index_store.errors import PolicyQAError
from index_store.settings import Settings, get_settings
from index_store.store import IndexStore
from policyqa.cli import app
from policyqa.compose import build_retriever

Demo = tuple[IndexStore, Settings]


def test_store_review_and_cases(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite")
    answer = {"question": "q?", "answer": "a [1]", "refused": False,
              "citations": [{"n": 1, "source": "/d/a.txt", "doc_id": "x"}]}  # fmt: skip
    first = store.add(answer, -1, {"mode": "extractive"}, "alice")
    second = store.add(answer, 1, {}, "")
    store.set_reason(first, "  wrong amount ")
    assert [i.id for i in store.items()] == [second, first]
    assert store.get(first).reason == "wrong amount" and store.get(first).status == "new"
    with pytest.raises(PolicyQAError, match="rating"):
        store.add(answer, 0, {})
    with pytest.raises(PolicyQAError, match="no feedback item 999"):
        store.review(999, "reviewed")
    with pytest.raises(PolicyQAError, match="no reviewed feedback"):
        export_eval_set(store, tmp_path / "out", [])

    store.review(first, "reviewed", expected="30%", gold_sources=["/d/b.txt"])
    store.review(second, "dismissed")
    assert eval_case(store.get(first)) == {
        "qid": f"feedback-{first}", "question": "q?", "gold_doc_ids": ["/d/b.txt"], "answer": "30%"
    }  # fmt: skip
    store.review(second, "reviewed")  # no staff answer: the cited document is the gold one
    assert eval_case(store.get(second))["gold_doc_ids"] == ["/d/a.txt"]
    store.review(second, "reviewed", should_refuse=True)
    assert eval_case(store.get(second)) == {
        "qid": f"feedback-{second}", "question": "q?", "should_refuse": True
    }  # fmt: skip
    with pytest.raises(PolicyQAError, match="no longer in the index"):
        export_eval_set(store, tmp_path / "out", [("/d/a.txt", "A", "text")])


def test_exported_feedback_runs_as_an_eval_set(
    demo_store: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, settings = demo_store
    service = AnswerService(build_retriever(settings, index), AnswerConfig())
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    good = store.add(answer_json(service.ask("稳岗返还的比例是多少？")), 1, {})
    bad = store.add(answer_json(service.ask("稳岗返还的比例是多少？")), -1, {})
    store.review(good, "reviewed", expected="60%予以返还")
    # Staff say a correct answer must also give the review time, which this answer lacks.
    store.review(bad, "reviewed", expected="20个工作日内完成审核")
    folder = tmp_path / "feedback-set"
    assert export_eval_set(store, folder, index_corpus(index)) == 2
    rows = [json.loads(x) for x in (folder / "queries.jsonl").read_text("utf-8").splitlines()]
    assert [r["qid"] for r in rows] == [f"feedback-{good}", f"feedback-{bad}"]

    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["eval", str(folder), "--json", str(report_path)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(report_path.read_text("utf-8"))
    assert report["n"] == 2 and report["metrics"]["doc_hit@5"] == 1.0
    holds = {q["qid"]: q["answer_contains"] for q in report["per_question"]}
    assert holds == {f"feedback-{good}": 1.0, f"feedback-{bad}": 0.0}
