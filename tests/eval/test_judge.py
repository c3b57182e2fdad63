"""The optional LLM judge: strict JSON verdicts, parse failures counted, over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.judge import Verdict, parse_verdict
from index_store.settings import get_settings
from policyqa.cli import app
from tests.eval.test_run import write_set
from tests.openai_stub import ScriptedOpenAI


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"faithful": true, "agrees": false, "reason": "x"}', Verdict(True, False, False)),
        ('Sure! {"faithful": false, "agrees": null}', Verdict(False, None, False)),
        ("yes, it is faithful and agrees", Verdict(None, None, True)),  # never "yes in text"
        ('{"faithful": "yes", "agrees": true}', Verdict(None, None, True)),
        ('{"faithful": true, "agrees": "maybe"}', Verdict(None, None, True)),
        ("", Verdict(None, None, True)),
    ],
)
def test_parse_verdict(reply: str, verdict: Verdict) -> None:
    assert parse_verdict(reply) == verdict


def test_eval_with_judge_counts_verdicts_and_parse_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_set(tmp_path / "myset")
    stub = ScriptedOpenAI(
        [
            ("text", '{"faithful": true, "agrees": true, "reason": "ok"}'),
            ("text", "looks good, yes"),
        ]
    ).start()
    try:
        monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("OPENAI_BASE_URL", stub.url)
        monkeypatch.setenv("POLICYQA_LLM_MODEL", "judge-model")
        get_settings.cache_clear()
        out = tmp_path / "r.json"
        result = CliRunner().invoke(app, ["eval", str(folder), "--judge", "--json", str(out)])
    finally:
        stub.stop()
        get_settings.cache_clear()
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(out.read_text(encoding="utf-8"))["metrics"]
    # Two answered questions: one clean verdict, one unparseable reply.
    assert metrics["judge_parse_failure_rate"] == pytest.approx(1 / 2)
    assert metrics["judge_faithfulness"] == 1.0 and metrics["judge_agreement"] == 1.0
    assert len(stub.requests) == 2 and stub.requests[0]["model"] == "judge-model"
    assert "Answer to grade:" in stub.requests[0]["messages"][0]["content"]


def test_judge_without_an_llm_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["eval", str(write_set(tmp_path / "s")), "--judge"])
    get_settings.cache_clear()
    assert result.exit_code == 2 and "--judge needs an LLM" in result.stderr
