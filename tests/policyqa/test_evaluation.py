from __future__ import annotations

from pathlib import Path

import pytest

from index_store.errors import PolicyQAError
from index_store.settings import Settings
from policyqa.evaluation import EvalRunner
from tests.eval.test_run import write_set


def test_runner_lists_sets_and_runs_one_with_progress(tmp_path: Path) -> None:
    (tmp_path / "evals").mkdir()
    write_set(tmp_path / "evals" / "tiny")
    (tmp_path / "evals" / "not-a-set").mkdir()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, cache_dir=tmp_path / "cache", eval_data_dir=tmp_path / "evals"
    )
    runner = EvalRunner(settings)
    assert runner.sets() == ["tiny"]
    seen: list[float] = []
    metrics, rows = runner.run("tiny", 10, 100, lambda f, _: seen.append(f), html_dir=tmp_path)
    assert dict((str(k), v) for k, v in metrics)["doc_hit@5"] == 1.0
    assert [r[0] for r in rows] == ["q1", "q2"]
    assert seen[0] == 0.0 and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    assert "<svg" in (tmp_path / "tiny.html").read_text(encoding="utf-8")
    with pytest.raises(PolicyQAError, match="no eval set"):
        runner.run("../etc", 1, 1, lambda f, d: None)


def test_the_evaluation_tab_says_where_it_looked_when_it_finds_no_set(tmp_path: Path) -> None:
    import gradio as gr

    from chatbot.ui.admin import build_admin_ui

    class NoDocuments:
        def rows(self) -> list[list[object]]:
            return []

    missing = tmp_path / "no-such-folder"
    runner = EvalRunner(Settings(_env_file=None, eval_data_dir=missing))  # type: ignore[call-arg]
    assert runner.sets() == [] and runner.where() == str(missing.resolve())
    ui = build_admin_ui(runner, NoDocuments(), None)  # type: ignore[arg-type]
    blocks = list(ui.blocks.values())
    hint = next(b for b in blocks if getattr(b, "elem_id", None) == "eval-missing")
    assert isinstance(hint, gr.Markdown) and str(missing.resolve()) in str(hint.value)
    assert "POLICYQA_EVAL_DATA_DIR" in str(hint.value)
    run = next(b for b in blocks if getattr(b, "elem_id", None) == "eval-run")
    assert run.interactive is False  # nothing to run: no button to fail twice
