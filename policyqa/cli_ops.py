"""Operations commands: ``policyqa index check|repair|backup|restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from index_store.errors import PolicyQAError
from policyqa.cli_common import fail, print_json
from policyqa.cli_common import settings as get_settings

index_app = typer.Typer(
    help="Check, repair, back up or restore the embedded index.", no_args_is_help=True
)


@index_app.command("check")
def index_check() -> None:
    """Open the index in a child process and check every chunk has its vector (exit 1 if not)."""
    from index_store.probe import probe_index

    settings = get_settings()
    result = probe_index(settings.index_dir.expanduser().resolve(), settings.collection)
    if not result.ok:
        typer.echo(f"damaged: {result.reason}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"ok: {result.chunks} chunks, {result.vectors} vectors")


@index_app.command("repair")
def index_repair(
    force: Annotated[bool, typer.Option(help="Rebuild even if the check passes.")] = False,
) -> None:
    """Rebuild the vectors from the registry (embedding cache first); the damaged Chroma
    folder is kept beside the new one."""
    import time

    from index_store.locking import index_write_lock
    from index_store.probe import probe_index
    from index_store.store import CHROMA_DIR
    from ingest.repair import rebuild_vectors
    from policyqa.compose import build_ingestor, open_index

    settings = get_settings()
    index_dir = settings.index_dir.expanduser().resolve()
    if not force and probe_index(index_dir, settings.collection).ok:
        typer.echo("ok: the index is healthy, nothing to repair (--force rebuilds anyway)")
        return
    try:
        with index_write_lock(index_dir):
            chroma = index_dir / CHROMA_DIR
            if chroma.exists():
                chroma.rename(index_dir / f"{CHROMA_DIR}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        store = open_index(settings, create=False)
        documents, chunks = rebuild_vectors(build_ingestor(settings, store))
    except PolicyQAError as exc:
        raise fail(exc) from exc
    typer.echo(f"repaired: {documents} documents, {chunks} chunks re-indexed")


@index_app.command("backup")
def index_backup(
    destination: Annotated[Path, typer.Argument(help="New folder for the backup.")],
) -> None:
    """Copy a consistent snapshot of the index while the app keeps serving."""
    from dataclasses import asdict

    from index_store.backup import backup_index
    from policyqa.compose import open_index

    try:
        manifest = backup_index(open_index(get_settings(), create=False), destination)
    except PolicyQAError as exc:
        raise fail(exc) from exc
    print_json(asdict(manifest))


@index_app.command("restore")
def index_restore(
    backup: Annotated[Path, typer.Argument(help="A folder made by `policyqa index backup`.")],
) -> None:
    """Replace the index with a backup (stop the app first); the old index is kept aside."""
    from index_store.backup import restore_index

    try:
        manifest, replaced = restore_index(backup, get_settings().index_dir)
    except PolicyQAError as exc:
        raise fail(exc) from exc
    typer.echo(f"restored {manifest.documents} documents ({manifest.created_at})")
    if replaced is not None:
        typer.echo(f"the replaced index is at {replaced}")
