"""Loaders of the four shared formats, the JSON shape, compare, and HTML escaping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.datasets import load_eval_set
from eval.report import compare, format_comparison, report_html, report_json
from eval.run import CitationResult, EvalReport, QueryResult, summarize
from index_store.errors import ConfigError
from policyqa.cli import app
from policyqa.evaluation import read_page
from tests.conftest import SHARED, needs_shared

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def result(qid: str, passed: bool, **kw: object) -> QueryResult:
    base: dict[str, object] = dict(
        qid=qid,
        question=f"question {qid}",
        reference="ref",
        answer="answer",
        refused=False,
        should_refuse=False,
        gold_doc_ids=("d1",),
        retrieved_doc_ids=("d1",),
        doc_rank=1 if passed else None,
        passage_rank=1 if passed else None,
        passage_level=True,
        citations=(CitationResult(1, "d1", "第一条", passed),),
        answer_contains=1.0 if passed else 0.0,
        answer_f1=0.5,
        citation_precision=1.0 if passed else 0.0,
        citation_recall=1.0,
        latency_ms=10.0,
        passed=passed,
    )
    base.update(kw)
    return QueryResult(**base)  # type: ignore[arg-type]


def report(results: list[QueryResult], name: str = "set") -> EvalReport:
    return EvalReport(name, len(results), {"mode": "extractive"}, summarize(results), results)


def test_summarize_arithmetic() -> None:
    results = [
        result("a", True),
        result("b", False),
        result("n1", False, should_refuse=True, refused=True, passage_level=False, doc_rank=None),
        result("n2", False, should_refuse=True, refused=False, passage_level=False, doc_rank=None),
        result("c", False, refused=True, latency_ms=30.0),
    ]
    m = summarize(results)
    assert m["doc_hit@1"] == pytest.approx(1 / 3)  # answerable: a, b, c
    assert m["passage_mrr@10"] == pytest.approx((1 + 0 + 0) / 3)
    assert m["answer_contains"] == pytest.approx((1 + 0 + 0) / 3)
    assert m["refusal_accuracy"] == pytest.approx(1 / 2)
    assert m["false_refusal_rate"] == pytest.approx(1 / 3)
    assert m["latency_p95_ms"] == 30.0
    assert "faithfulness" not in m  # extractive answers: not measured


def test_faithfulness_is_the_mean_over_llm_answers() -> None:
    m = summarize([result("a", True, faithfulness=1.0), result("b", True, faithfulness=0.5),
                   result("c", True)])  # fmt: skip
    assert m["faithfulness"] == pytest.approx((1.0 + 0.5) / 2)


def test_json_has_the_documented_shape() -> None:
    data = report_json(report([result("a", True)]))
    assert list(data) == ["dataset", "n", "config", "metrics", "per_question"]
    assert set(data["metrics"]) <= {
        "doc_hit@1",
        "doc_hit@3",
        "doc_hit@5",
        "doc_hit@10",
        "doc_mrr@10",
        "passage_hit@1",
        "passage_hit@3",
        "passage_hit@5",
        "passage_hit@10",
        "passage_mrr@10",
        "answer_contains",
        "answer_f1",
        "citation_precision",
        "citation_recall",
        "refusal_accuracy",
        "false_refusal_rate",
        "latency_p50_ms",
        "latency_p95_ms",
    }
    assert data["per_question"][0]["qid"] == "a"
    json.dumps(data)  # serialisable as is


def test_compare_lists_deltas_and_new_failures(tmp_path: Path) -> None:
    a = report_json(report([result("q1", True), result("q2", True), result("q3", False)]))
    b = report_json(report([result("q1", True), result("q2", False), result("q3", True)]))
    c = compare(a, b)
    assert c.regressions == [("q2", "question q2")] and c.fixes == [("q3", "question q3")]
    # q2 and q3 are cited and ranked differently; q1 is answered the same way.
    assert [qid for qid, _ in c.changed] == ["q2", "q3"]
    same = compare(a, a)
    assert same.changed == [] and "0 questions were answered differently" in format_comparison(same)
    reworded = report_json(report([result("q1", True, answer="other words"), result("q2", True),
                                   result("q3", False)]))  # fmt: skip
    assert [qid for qid, _ in compare(a, reworded).changed] == ["q1"]
    # A repeated question id: each occurrence meets its own counterpart.
    twice = report_json(report([result("q1", True), result("q1", False)]))
    assert compare(twice, twice).changed == []
    deltas = {name: (va, vb) for name, va, vb in c.deltas}
    assert deltas["doc_hit@1"] == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    text = format_comparison(c)
    assert "1 questions went from pass to fail" in text and "q2  question q2" in text
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    out = CliRunner().invoke(
        app, ["eval", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    )
    assert out.exit_code == 0 and "q2  question q2" in out.stdout


def test_html_escapes_hostile_text() -> None:
    page = report_html(
        report(
            [result(HOSTILE, False, question=HOSTILE, answer=HOSTILE, reference=HOSTILE)],
            name=HOSTILE,
        )
    )
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page
    assert "<svg" in page and page.count("<tr>") == 2  # header + one question
    assert "Content-Security-Policy" in page


@needs_shared()
@pytest.mark.parametrize(
    ("name", "docs", "check"),
    [
        ("ncp-policy-qa", 599, lambda q: q.answer and q.answer_start is not None),
        ("msgabench-gov-faq", 2058, lambda q: len(q.gold_doc_ids) == 1),
        ("gitlab-handbook-rag", 50, lambda q: q.evidence and q.answer),
        ("policyqa-privacy", 500, lambda q: q.scope and set(q.gold_doc_ids) <= set(q.scope)),
    ],
)
def test_shared_formats_load(name: str, docs: int, check: object) -> None:
    s = load_eval_set(SHARED / name, read_page)
    assert len(s.documents) == docs
    ids = {d.doc_id for d in s.documents}
    assert all(set(q.gold_doc_ids) <= ids for q in s.queries)
    assert all(check(q) for q in s.queries)  # type: ignore[operator]
    if name == "gitlab-handbook-rag":
        assert not any(q.qid.startswith("multimodal") for q in s.queries)
        assert any(q.history for q in s.queries)  # follow-ups carry their context


def test_comparison_flags_what_got_worse() -> None:
    a = {
        "metrics": {"doc_hit@5": 0.9, "latency_p95_ms": 50.0, "answer_f1": 0.3},
        "per_question": [],
    }
    b = {
        "metrics": {"doc_hit@5": 0.8, "latency_p95_ms": 40.0, "answer_f1": 0.3},
        "per_question": [],
    }
    lines = {
        line.split()[0]: line for line in format_comparison(compare(a, b)).splitlines() if line
    }
    assert lines["doc_hit@5"].endswith("worse") and "-0.100" in lines["doc_hit@5"]
    assert not lines["latency_p95_ms"].endswith("worse")  # lower latency is better
    assert not lines["answer_f1"].endswith("worse")


def test_the_handbook_layout_needs_the_app_s_page_reader(tmp_path: Path) -> None:
    (tmp_path / "handbook").mkdir()
    (tmp_path / "datasets").mkdir()
    with pytest.raises(ConfigError, match="markdown pages"):
        load_eval_set(tmp_path)
