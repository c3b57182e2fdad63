"""Helpers shared by the CLI modules."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from index_store.errors import PolicyQAError


def _hide_flag_types() -> None:
    """Typer's help prints every option's type (``<int>``, ``<path>``), flags too, where
    ``--json <bool>`` reads as if the flag took a value. Flags get no type column."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()

if TYPE_CHECKING:
    from index_store.policy import Scope
    from index_store.settings import Settings

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
# Which documents a question may draw on (``index_store.policy.Scope``).
AsOfOpt = Annotated[
    datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Policies in force on this day."),
]
ExpiredOpt = Annotated[
    bool, typer.Option("--include-expired", help="Also expired and replaced policies.")
]
RegionOpt = Annotated[list[str] | None, typer.Option("--region", help="Region (repeatable).")]
IssuerOpt = Annotated[list[str] | None, typer.Option("--issuer", help="Issuing body (repeatable).")]
DocOpt = Annotated[list[str] | None, typer.Option("--doc", help="Document id (repeatable).")]
SinceOpt = Annotated[
    datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="Published on or after.")
]
UntilOpt = Annotated[
    datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Published on or before.")
]


def scope_of(
    in_force_default: bool,
    as_of: datetime | None,
    include_expired: bool,
    regions: list[str] | None,
    issuers: list[str] | None,
    docs: list[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> Scope:
    """The command line's scope: every label (the operator reads all), narrowed as asked."""
    from index_store.policy import Scope

    return Scope(
        as_of=as_of.date() if as_of else None,
        in_force_only=in_force_default and not include_expired,
        regions=tuple(regions or ()),
        issuers=tuple(issuers or ()),
        doc_ids=tuple(docs or ()),
        published_from=since.date() if since else None,
        published_to=until.date() if until else None,
    )


def settings() -> Settings:
    from index_store.settings import get_settings

    return get_settings()


def fail(exc: PolicyQAError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
