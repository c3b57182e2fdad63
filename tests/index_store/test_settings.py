from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from index_store.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_lists_exactly_the_settings() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^(POLICYQA_[A-Z_]+)=", text, flags=re.MULTILINE))
    fields = {f"POLICYQA_{name.upper()}" for name in Settings.model_fields}
    assert listed == fields


def test_env_example_values_parse() -> None:
    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line.startswith("POLICYQA_")
    )
    Settings(_env_file=None, **{k.removeprefix("POLICYQA_").lower(): v for k, v in values.items()})  # type: ignore[call-arg, arg-type]


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POLICYQA_INDEX_DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("POLICYQA_TOP_K", "7")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.index_dir == tmp_path / "idx" and s.top_k == 7


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
