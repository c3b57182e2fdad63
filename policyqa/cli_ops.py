"""Operations commands: ``policyqa bench`` and ``policyqa index check|repair|backup|restore``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from index_store.errors import PolicyQAError
from policyqa.cli_common import fail, print_json
from policyqa.cli_common import settings as get_settings

index_app = typer.Typer(
    help="Check, repair, back up or restore the embedded index.", no_args_is_help=True
)


def bench(
    eval_data: Annotated[
        Path | None, typer.Option(help="Shared eval data (default: POLICYQA_EVAL_DATA_DIR).")
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Scratch folder (default: a temp dir).")
    ] = None,
    docs: Annotated[int, typer.Option(min=1, help="Documents for the ingest comparison.")] = 60,
    ingest_set: Annotated[
        str,
        typer.Option(
            help="Shared set the ingest comparison reads: ncp-policy-qa (Chinese notices) or "
            "gitlab-handbook-rag (English pages)."
        ),
    ] = "ncp-policy-qa",
    ingest_runs: Annotated[
        int,
        typer.Option(
            min=1, max=9, help="Runs of the ingest comparison, in turn; times are their medians."
        ),
    ] = 1,
    sizes: Annotated[str, typer.Option(help="Index sizes (chunks) for query latency.")] = (
        "1000,10000,100000"
    ),
    questions: Annotated[int, typer.Option(min=2)] = 100,
    users: Annotated[int, typer.Option(min=1, max=64)] = 4,
    embed_passages: Annotated[int, typer.Option(min=2, help="For the embedder section.")] = 128,
    duration: Annotated[float, typer.Option(min=1, max=600, help="Seconds of load.")] = 20.0,
    sections: Annotated[
        str, typer.Option(help="Comma-separated: embedder, ingest, query, serve, cold_start.")
    ] = "embedder,ingest,query,serve,cold_start",
    as_json: Annotated[
        Path | None, typer.Option("--json", help="Also write the report here.")
    ] = None,
) -> None:
    """Measure ingest, query latency, concurrency and cold start against naive llama-index.

    Ingest and query figures sit beside the naive pipeline's, measured in the same run."""
    import tempfile

    from policyqa.bench.report import format_bench
    from policyqa.bench.runner import BENCH_SECTIONS, BenchConfig, run_bench

    settings = get_settings()
    data = (eval_data or settings.eval_data_dir).expanduser().resolve()
    if not (data / "ncp-policy-qa").is_dir():
        typer.echo(f"error: no shared eval data at {data} (give --eval-data)", err=True)
        raise typer.Exit(code=2)
    if not (data / ingest_set).is_dir():
        typer.echo(f"error: no set {ingest_set!r} in {data}", err=True)
        raise typer.Exit(code=2)
    try:
        size_list = tuple(int(s) for s in sizes.split(",") if s.strip())
    except ValueError:
        typer.echo(f"error: --sizes must be comma-separated integers, not {sizes!r}", err=True)
        raise typer.Exit(code=2) from None

    wanted = tuple(s.strip() for s in sections.split(",") if s.strip())
    unknown = sorted(set(wanted) - set(BENCH_SECTIONS))
    if unknown:
        typer.echo(f"error: no bench section {', '.join(unknown)}", err=True)
        raise typer.Exit(code=2)
    # The query, serve and cold-start sections read the index the ingest section builds.
    ingested = work_dir is not None and (work_dir / "ours" / "index").is_dir()
    if set(wanted) & {"query", "serve", "cold_start"} and "ingest" not in wanted and not ingested:
        typer.echo(
            "error: the query, serve and cold_start sections use the index the ingest section "
            "builds: add ingest to --sections, or give the --work-dir of a run that had it",
            err=True,
        )
        raise typer.Exit(code=2)

    def save(report: dict[str, object]) -> None:
        assert as_json is not None
        as_json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")

    with tempfile.TemporaryDirectory(prefix="policyqa-bench-") as tmp:
        cfg = BenchConfig(
            eval_data=data,
            work_dir=work_dir or Path(tmp),
            docs=docs,
            ingest_set=ingest_set,
            ingest_runs=ingest_runs,
            sizes=size_list,
            questions=questions,
            users=users,
            duration_s=duration,
            embed_passages=embed_passages,
            sections=wanted,
        )
        report = run_bench(cfg, save if as_json is not None else None)
    typer.echo(format_bench(report))


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
