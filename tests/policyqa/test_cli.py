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

# The real model, real processes or real files: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow

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
    assert report["counts"] == {
        "added": n_demo, "updated": 0, "unchanged": 0, "failed": 1, "skipped": 0
    }  # fmt: skip
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


def test_unsupported_files_are_listed_as_skipped_and_failures_printed_once(
    docs: Path,
) -> None:
    (docs / "subsidies.csv").write_text("企业类型,补贴\n小微企业,1000\n", encoding="utf-8")
    code, out, err = run("ingest", str(docs))
    assert code == 1  # broken.pdf failed; the rest was ingested
    assert "skipped=1" in out and "failed=1" in out
    failed = [line for line in err.splitlines() if "broken.pdf" in line]
    assert len(failed) == 1 and failed[0].startswith("failed") and "[corrupt]" in failed[0]
    skipped = [line for line in err.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1 and "subsidies.csv: not a supported type" in skipped[0]
    code, out, _ = run("ingest", str(docs / "subsidies.csv"), "--json")
    assert code == 1 and json.loads(out)["failed"][0]["reason"] == "unsupported"  # named: fails


def test_docs_list_has_a_header_and_whole_titles(docs: Path) -> None:
    run("ingest", str(docs))
    code, out, _ = run("docs", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["doc_id", "chunks", "title"]
    assert any("示例市支持中小微企业纾困发展若干措施" in line for line in lines[1:])
    assert any("Example Cloud Support Service Level Agreement" in line for line in lines[1:])


def test_eval_help_names_the_short_form() -> None:
    code, out, _ = run("eval", "--help")
    assert code == 0 and "policyqa eval PATH" in " ".join(out.split())


def test_help_shows_no_type_after_a_flag() -> None:
    code, out, _ = run("ingest", "--help")
    assert code == 0 and "--json" in out and "<bool>" not in out
    assert "<str>" in out  # options that take a value keep their type


def test_feedback_list_and_export(docs: Path, env: Path) -> None:
    from chatbot.web.feedback import FeedbackStore

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
    assert case["gold_doc_ids"] == ["refund-policy.md"]  # the name clients saw, not the path


def _serve(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    exe = Path(sys.executable).with_name("policyqa")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")} | env_extra
    return subprocess.run(
        [str(exe), "serve", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_serve_with_its_port_taken_fails_in_one_line_without_a_banner(tmp_path: Path) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        done = _serve("--port", str(port), env_extra={"POLICYQA_INDEX_DIR": str(tmp_path)})
    finally:
        taken.close()
    assert done.returncode == 2 and "PolicyQA on" not in done.stdout
    assert (
        done.stderr.strip().count("\n") == 0 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    )


def test_serve_with_no_index_fails_in_one_line_without_a_banner(tmp_path: Path) -> None:
    from tests.conftest import free_port

    missing = tmp_path / "none"
    done = _serve("--port", str(free_port()), env_extra={"POLICYQA_INDEX_DIR": str(missing)})
    assert done.returncode == 2 and "PolicyQA on" not in done.stdout
    assert "policyqa ingest" in done.stderr and done.stderr.strip().count("\n") == 0


def test_a_second_writer_is_refused_before_heavy_imports(tmp_path: Path) -> None:
    import os

    from index_store.locking import index_write_lock

    index = tmp_path / "index"
    index.mkdir()
    (tmp_path / "a.txt").write_text("第一条 测试。", encoding="utf-8")
    exe = Path(sys.executable).with_name("policyqa")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    env |= {"POLICYQA_INDEX_DIR": str(index), "PYTHONPROFILEIMPORTTIME": "1"}
    with index_write_lock(index):  # an ingest in progress
        done = subprocess.run(
            [str(exe), "ingest", str(tmp_path / "a.txt")],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
    assert done.returncode == 2 and "another process is writing to the index" in done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not imported & {"torch", "chromadb", "transformers", "llama_index.core", "onnxruntime"}


def test_ask_and_unchanged_ingest_load_no_torch(docs: Path, env: Path) -> None:
    """A one-shot ask embeds its question with the C engine, and an ingest of unchanged files
    loads no model: neither imports torch (the import profile of each run says so)."""
    import os

    assert run("ingest", str(docs))[0] == 1  # broken.pdf fails, the rest goes in
    exe = Path(sys.executable).with_name("policyqa")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    environ |= {
        "POLICYQA_INDEX_DIR": str(env / "index"),
        "POLICYQA_CACHE_DIR": str(env / "cache"),
        "PYTHONPROFILEIMPORTTIME": "1",
    }
    for args, expected in (
        (["ask", "稳岗返还的比例是多少？"], "60%"),
        (["ingest", str(docs)], "unchanged=5"),
    ):
        done = subprocess.run(
            [str(exe), *args], capture_output=True, text=True, timeout=120, env=environ
        )
        assert expected in done.stdout, done.stdout + done.stderr[-2000:]
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
        assert "torch" not in imported, args
