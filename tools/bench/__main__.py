"""``python -m tools.bench``: ingest, query, concurrency and cold-start figures, each beside the
naive llama-index pipeline measured in the same run. A developer's tool, run from the
repository root; it is not part of the installed package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from policyqa.cli_common import settings as get_settings

app = typer.Typer(add_completion=False)


@app.command()
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

    from tools.bench.report import format_bench
    from tools.bench.runner import BENCH_SECTIONS, BenchConfig, run_bench

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
            work_dir=(work_dir or Path(tmp)).resolve(),
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


if __name__ == "__main__":
    app()
