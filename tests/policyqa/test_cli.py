"""The CLI end to end, in-process, on the demo corpus with the real default embedder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index_store.settings import get_settings
from policyqa.cli import app
from tests.files import DEMO_DIR

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLICYQA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def docs(env: Path) -> Path:
    folder = env / "docs"
    shutil.copytree(DEMO_DIR, folder)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 not a pdf")
    return folder


def test_ingest_search_list_remove(docs: Path) -> None:
    code, out, err = run("ingest", str(docs), "--json")
    assert code == 1, err  # one file failed
    report = json.loads(out)
    n_demo = len(list(DEMO_DIR.iterdir()))
    assert report["counts"] == {"added": n_demo, "updated": 0, "unchanged": 0, "failed": 1}
    assert report["failed"][0]["reason"] == "corrupt"
    assert report["failed"][0]["source"].endswith("broken.pdf")
    assert report["embedded_chunks"] == report["chunks"] > 0

    code, out, _ = run("ingest", str(docs / "refund-policy.md"), "--json")
    again = json.loads(out)
    assert code == 0
    assert again["counts"]["unchanged"] == 1 and again["embedded_chunks"] == 0

    code, out, _ = run("search", "高新技术企业首次认定奖励多少？", "--top-k", "2", "--json")
    assert code == 0
    hits = json.loads(out)["hits"]
    assert len(hits) == 2
    assert "30万元" in hits[0]["text"]
    assert hits[0]["heading_path"][0] == hits[0]["title"]
    assert {"rank", "score", "doc_id", "source", "locator", "start", "end"} <= set(hits[0])

    code, out, _ = run("docs", "list", "--json")
    listed = json.loads(out)
    assert len(listed) == n_demo
    target = next(d for d in listed if d["source"].endswith("高新技术企业认定奖励办法.md"))
    code, out, _ = run("docs", "remove", target["doc_id"])
    assert code == 0 and target["doc_id"] in out
    code, out, _ = run("search", "高新技术企业首次认定奖励多少？", "--json")
    assert all("高新技术企业认定奖励办法" not in h["source"] for h in json.loads(out)["hits"])
    code, _, err = run("docs", "remove", target["doc_id"])
    assert code == 2 and "no document" in err


def test_lifecycle_and_filters_on_the_command_line(
    docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("ingest", str(docs))
    code, out, _ = run("docs", "list", "--json")
    by_name = {Path(d["source"]).name: d for d in json.loads(out)}
    old = by_name["示例市扶持小微企业创业发展办法.txt"]
    new = by_name["中小企业纾困扶持办法.txt"]
    assert new["info"]["doc_number"] == "示政办〔2026〕3号"
    assert (new["info"]["effective"], new["info"]["expires"]) == ("2026-01-01", "2027-12-31")
    assert old["info"]["doc_number"] in new["info"]["replaces"]

    question = "首次创业能拿到多少创业补贴？"  # only the repealed 2024 policy says
    code, out, _ = run("ask", question, "--as-of", "2026-06-01", "--json")
    answer = json.loads(out)
    assert code == 0 and not answer["refused"] and "3万元" in answer["answer"]
    assert "已失效或已被替代" in answer["notice"]
    assert any("已被废止" in w and "示政办〔2026〕3号" in w for w in answer["warnings"])
    code, out, _ = run("ask", question, "--as-of", "2025-06-01", "--json")
    answer = json.loads(out)
    assert answer["notice"] is None and answer["warnings"] == []  # in force back then
    assert answer["basis"] == ["《示例市扶持小微企业创业发展办法》（示政办〔2024〕5号，"
                               "2024-01-01 起施行，有效期至 2025-12-31）"]  # fmt: skip

    # An archive deployment answers from every version, still saying which are not in force.
    monkeypatch.setenv("POLICYQA_IN_FORCE_ONLY", "false")
    get_settings.cache_clear()
    code, out, _ = run("ask", question, "--as-of", "2026-06-01", "--json")
    monkeypatch.delenv("POLICYQA_IN_FORCE_ONLY")
    get_settings.cache_clear()
    answer = json.loads(out)
    assert answer["notice"] is None and any("已被废止" in w for w in answer["warnings"])

    code, out, _ = run("search", "创业补贴", "--doc", new["doc_id"], "--json")
    assert {h["doc_id"] for h in json.loads(out)["hits"]} == {new["doc_id"]}
    code, out, _ = run("search", "创业补贴", "--region", "上海市", "--json")
    assert json.loads(out)["hits"] == []  # no document from that region
    code, out, _ = run("search", "补贴", "--from", "2026-01-01", "--include-expired", "--json")
    assert old["doc_id"] not in {h["doc_id"] for h in json.loads(out)["hits"]}


def test_search_without_an_index_says_how_to_make_one(env: Path) -> None:
    code, _, err = run("search", "anything")
    assert code == 2
    assert "no index at" in err and "policyqa ingest" in err


def test_empty_question_is_a_usage_error(env: Path) -> None:
    code, _, err = run("search", "   ")
    assert code == 2 and "empty" in err


def test_console_script_help_is_installed() -> None:
    exe = Path(sys.executable).with_name("policyqa")
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "ingest" in result.stdout and "search" in result.stdout


def test_feedback_list_and_export(docs: Path, env: Path) -> None:
    from chatbot.feedback import FeedbackStore

    run("ingest", str(docs / "refund-policy.md"))
    code, out, _ = run("ask", "How long is the warranty on electronics?", "--json")
    store = FeedbackStore(env / "feedback.sqlite")  # beside the index by default
    item = store.add(json.loads(out), -1, {}, reason="say which defects")
    code, _, err = run("feedback", "export", str(env / "set"))
    assert code == 2 and "no reviewed feedback" in err
    store.review(item, "reviewed", expected="2-year limited warranty")
    code, out, _ = run("feedback", "list")
    assert "say which defects" in out and "reviewed" in out
    code, out, _ = run("feedback", "export", str(env / "set"))
    assert code == 0 and "exported 1 cases" in out
    case = json.loads((env / "set" / "queries.jsonl").read_text("utf-8"))
    assert case["answer"] == "2-year limited warranty"
    assert case["gold_doc_ids"] == [str((docs / "refund-policy.md").resolve())]
