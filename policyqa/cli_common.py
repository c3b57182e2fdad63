"""Helpers shared by the CLI modules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from index_store.errors import PolicyQAError

if TYPE_CHECKING:
    from index_store.settings import Settings


def settings() -> Settings:
    from index_store.settings import get_settings

    return get_settings()


def fail(exc: PolicyQAError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
