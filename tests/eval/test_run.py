"""The eval command on a small set in the documented format, and the shared sets' loaders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.datasets import load_jsonl_set
from eval.metrics import locate_span
from eval.run import restrict_corpus
from index_store.settings import get_settings
from ingest.loaders import load_file
from ingest.textdecode import normalize_text
from policyqa.cli import app
from tests.conftest import SHARED, needs_shared
from tests.files import DEMO_DIR


def write_set(folder: Path) -> Path:
    folder.mkdir()
    docs = []
    for path in sorted(DEMO_DIR.iterdir()):
        doc = load_file(path, 1 << 20)
        docs.append({"doc_id": path.stem, "text": doc.text, "title": doc.title})
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps(d, ensure_ascii=False) for d in docs), encoding="utf-8"
    )
    zh = next(d for d in docs if d["doc_id"] == "中小企业纾困扶持办法")
    answer = "按上年度实际缴纳失业保险费的60%予以返还"
    queries = [
        {
            "qid": "q1",
            "question": "稳岗返还按什么比例返还？",
            "answer": answer,
            "gold_doc_id": zh["doc_id"],
            "answer_start": zh["text"].index(answer),
        },
        {
            "qid": "q2",
            "question": "How long is the warranty on electronics?",
            "gold_doc_ids": ["refund-policy"],
        },
    ]
    (folder / "queries.jsonl").write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in queries), encoding="utf-8"
    )
    return folder


def test_eval_command_scores_writes_json_and_gates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    folder = write_set(tmp_path / "myset")
    out = tmp_path / "report.json"
    runner = CliRunner()
    result = runner.invoke(
        app, ["eval", str(folder), "--json", str(out), "--fail-under", "doc_hit@5=0.99"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["dataset"] == "myset" and report["n"] == 2
    assert report["metrics"]["doc_hit@5"] == 1.0
    # Only q1 has an answer span: passage metrics and answer metrics are over q1 alone.
    assert report["metrics"]["passage_hit@5"] == 1.0
    assert report["metrics"]["answer_contains"] == 1.0  # the extractive answer quotes the span
    assert report["metrics"]["citation_precision"] > 0
    assert report["metrics"]["false_refusal_rate"] == 0.0
    first = report["per_question"][0]
    assert first["passed"] and first["citations"][0]["gold"]
    assert [q["qid"] for q in report["per_question"]] == ["q1", "q2"]
    # The cached index is re-used: no document is embedded again.
    cache_dirs = list((tmp_path / "cache" / "eval").iterdir())
    chat_out = tmp_path / "chat.json"
    again = runner.invoke(
        app,
        ["eval", str(folder), "--chat", "--json", str(chat_out), "--fail-under", "doc_mrr@10=1.01"],
    )
    assert again.exit_code == 1
    assert "FAIL doc_mrr@10" in again.stderr
    assert report["config"]["follow_ups"] == "after questions"
    assert (report["config"]["reranker"], report["config"]["refusal_by"]) == ("off", "rule")
    # Each citation carries the clause it names: 稳岗返还 is 第四条 of the 纾困 measures.
    assert "第四条" in first["citations"][0]["clause"]
    assert json.loads(chat_out.read_text(encoding="utf-8"))["config"]["follow_ups"] == (
        "after answers"
    )
    assert list((tmp_path / "cache" / "eval").iterdir()) == cache_dirs
    over = runner.invoke(app, ["eval", str(folder), "--fail-over", "latency_p50_ms=0.0001"])
    assert over.exit_code == 1 and "FAIL latency_p50_ms" in over.stderr
    bad = runner.invoke(app, ["eval", str(folder), "--fail-under", "doc_hit@5"])
    assert bad.exit_code == 2
    get_settings.cache_clear()


@needs_shared()
@pytest.mark.parametrize("name", ["ncp-policy-qa", "msgabench-gov-faq"])
def test_shared_sets_load_and_sample(name: str) -> None:
    full = load_jsonl_set(SHARED / name)
    assert len(full.documents) > 500 and len(full.queries) > 500
    ids = {d.doc_id for d in full.documents}
    assert all(set(q.gold_doc_ids) <= ids for q in full.queries)
    sample = full.sample(20, seed=1)
    assert len(sample.queries) == 20 and sample.queries == full.sample(20, seed=1).queries
    small = restrict_corpus(sample, 50, seed=1)
    kept = {d.doc_id for d in small.documents}
    assert len(kept) == 50 and all(set(q.gold_doc_ids) <= kept for q in small.queries)
    assert small.fingerprint != full.fingerprint


@needs_shared()
def test_ncp_answer_spans_map_into_the_normalised_text() -> None:
    # Raw offsets are sometimes off by one in the data, and normalisation shifts text; the
    # span is found again in the pipeline's text, next to where the raw offset points.
    full = load_jsonl_set(SHARED / "ncp-policy-qa")
    texts = {d.doc_id: normalize_text(d.text) for d in full.documents}
    near = 0
    for q in full.queries:
        assert q.answer and q.answer_start is not None
        span = locate_span(texts[q.gold_doc_ids[0]], q.answer, q.answer_start)
        if span is not None and abs(span[0] - q.answer_start) <= 40:
            near += 1
    assert near / len(full.queries) >= 0.99


@needs_shared()
def test_dev_and_test_splits_partition_every_set_the_same_way_each_time() -> None:
    from eval.datasets import load_eval_set

    whole = load_eval_set(SHARED / "ncp-policy-qa")
    dev, test = whole.split("dev"), whole.split("test")
    dev_ids, test_ids = {q.qid for q in dev.queries}, {q.qid for q in test.queries}
    assert not dev_ids & test_ids and dev_ids | test_ids == {q.qid for q in whole.queries}
    assert 0.65 < len(dev_ids) / len(whole.queries) < 0.75
    assert {q.qid for q in load_eval_set(SHARED / "ncp-policy-qa").split("dev").queries} == dev_ids
    # A sample of a split stays inside it and remembers which split it is.
    sample = test.sample(20, seed=3)
    assert {q.qid for q in sample.queries} <= test_ids and sample.part == "test"


def test_a_gold_passage_shown_as_a_copy_counts_where_it_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    folder = tmp_path / "reprints"
    folder.mkdir()
    body = "对承租国有资产类生产经营用房的企业，1个月房租免收、2个月租金减半。"
    docs = [
        {"doc_id": "a", "title": "国有资产类经营用房房租减免", "text": body},
        {"doc_id": "b", "title": "转载", "text": body},
        {"doc_id": "c", "title": "其他", "text": "对小微企业按实际租金的30%给予补贴，期限三个月。"},
    ]
    question = "国有资产类经营用房的房租怎么减免？"
    answer = "1个月房租免收、2个月租金减半"
    query = {"qid": "q1", "question": question, "answer": answer, "gold_doc_id": "b"}
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps(d, ensure_ascii=False) for d in docs), encoding="utf-8"
    )
    query["answer_start"] = body.index(answer)
    (folder / "queries.jsonl").write_text(json.dumps(query, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["eval", str(folder), "--json", str(out)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    (row,) = report["per_question"]
    # "a" is shown, "b" named beside it as a copy: both ranks are 1, the citation is gold.
    assert row["retrieved_doc_ids"][:2] == ["a", "c"]
    assert (row["doc_rank"], row["passage_rank"]) == (1, 1)
    assert row["citations"][0]["gold"] and report["metrics"]["citation_recall"] == 1.0
    get_settings.cache_clear()
