from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from index_store.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_lists_exactly_the_settings() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
    assert listed == set(env_names().values())


def env_names() -> dict[str, str]:
    """Field name -> the environment variable that sets it."""
    names = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        names[name] = str(choices[0]) if choices else f"POLICYQA_{name.upper()}"
    return names


def test_env_example_values_parse() -> None:
    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if re.match(r"^[A-Z_]+=", line)
    )
    by_env = {env: name for name, env in env_names().items()}
    kwargs = {by_env[k]: v for k, v in values.items() if v != ""}
    settings = Settings(_env_file=None, **kwargs)  # type: ignore[call-arg, arg-type]
    assert not settings.llm_configured


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POLICYQA_INDEX_DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("POLICYQA_TOP_K", "7")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.index_dir == tmp_path / "idx" and s.top_k == 7
    assert s.openai_base_url == "http://127.0.0.1:9/v1" and s.llm_configured
    assert s.openai_api_key is None


@pytest.mark.parametrize(
    "bad",
    [
        {"top_k": 0},
        {"chunk_size": 10},
        {"embedder": "openai"},
        {"chunk_size": 100, "chunk_overlap": 100},
        {"collection": "a b"},
    ],
)
def test_invalid_settings_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **bad)  # type: ignore[arg-type, call-arg]
