"""The ``policyqa`` command line. Commands parse arguments, call one service, and render.

JSON goes to stdout, logs to stderr. Exit codes: 0 success, 1 some input failed, 2 usage or
configuration error.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from index_store.errors import PolicyQAError
from index_store.policy import DEFAULT_COLLECTION, PUBLIC_LABEL
from policyqa.cli_common import (
    AsOfOpt,
    DocOpt,
    ExpiredOpt,
    IssuerOpt,
    JsonOpt,
    RegionOpt,
    SinceOpt,
    UntilOpt,
    scope_of,
)
from policyqa.cli_common import fail as _fail
from policyqa.cli_common import print_json as _print_json
from policyqa.cli_common import settings as _settings
from policyqa.cli_docs import docs_app, feedback_app
from policyqa.cli_eval import eval_app
from policyqa.cli_ops import index_app

if TYPE_CHECKING:
    from index_store.records import FileStatus, Hit, IngestReport
    from ingest.pipeline import Ingestor

app = typer.Typer(
    help="Answer questions about policy documents with cited passages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(docs_app, name="docs")
app.add_typer(feedback_app, name="feedback")
app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")


@app.callback()
def _configure(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (walked recursively).")],
    labels: Annotated[
        list[str] | None,
        typer.Option("--label", help="Access label (repeatable; default public)."),
    ] = None,
    collection: Annotated[
        str, typer.Option(help="Collection the documents belong to.")
    ] = DEFAULT_COLLECTION,
    as_json: JsonOpt = False,
) -> None:
    """Add or update documents; unchanged files are skipped, changed ones replaced."""
    from dataclasses import replace

    from index_store.locking import ensure_no_writer

    try:
        settings = _settings()
        # A second writer is refused here, before Chroma is imported or a model loaded.
        ensure_no_writer(settings.index_dir.expanduser())
        from ingest.pipeline import ingest_paths, iter_files
        from policyqa.compose import build_ingestor, open_index

        store = open_index(settings, create=True)
        ingestor = replace(
            build_ingestor(settings, store),
            labels=tuple(labels or (PUBLIC_LABEL,)),
            collection=collection,
        )
        total = sum(1 for _ in iter_files(paths))
        if sys.stderr.isatty() and not as_json:
            report = _ingest_with_bar(paths, ingestor, total)
        else:
            report = ingest_paths(paths, ingestor)
    except PolicyQAError as exc:
        raise _fail(exc) from exc
    if as_json:
        _print_json(_report_json(report))
    else:
        _print_report(report)
    if report.failed:
        raise typer.Exit(code=1)


def _ingest_with_bar(paths: list[Path], ingestor: Ingestor, total: int) -> IngestReport:
    """Ingest under a terminal progress bar: files done of all, pages OCR'd, chunks written."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ingest.pipeline import Progress as Step
    from ingest.pipeline import ingest_paths

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[pages]} pages OCR'd · {task.fields[chunks]} chunks"),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("ingesting", total=total, pages=0, chunks=0)

        def advance(step: Step) -> None:
            bar.update(
                task,
                completed=step.files_done,
                description=Path(step.file).name[:40],
                pages=step.pages_done,
                chunks=step.chunks,
            )

        return ingest_paths(paths, ingestor, advance)


STATUSES: tuple[FileStatus, ...] = ("added", "updated", "unchanged", "failed", "skipped")


def _report_json(report: IngestReport) -> dict[str, Any]:
    summary: dict[str, Any] = {
        status: [
            {k: v for k, v in asdict(o).items() if k != "status" and v is not None}
            for o in report.by_status(status)
        ]
        for status in STATUSES
    }
    summary["counts"] = {s: len(summary[s]) for s in STATUSES}
    summary["chunks"] = sum(o.chunks for o in report.outcomes if o.status != "failed")
    summary["embedded_chunks"] = report.embedded_chunks
    summary["seconds"] = round(report.seconds, 3)
    return summary


def _print_report(report: IngestReport) -> None:
    for status in ("skipped", "failed"):
        for outcome in report.by_status(status):
            typer.echo(
                f"{status:<8} {outcome.source}: [{outcome.reason}] {outcome.message}", err=True
            )
    counts = {s: len(report.by_status(s)) for s in STATUSES}
    typer.echo(
        " ".join(f"{k}={v}" for k, v in counts.items())
        + f" embedded_chunks={report.embedded_chunks} seconds={report.seconds:.1f}"
    )


def _hit_json(rank: int, hit: Hit) -> dict[str, Any]:
    c = hit.chunk
    return {
        "rank": rank,
        "score": round(hit.score, 6),
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "source": c.source,
        "title": c.title,
        "heading_path": list(c.heading_path),
        "locator": c.locator,
        "page": c.page,
        "start": c.start,
        "end": c.end,
        "text": c.text,
        "dense_rank": hit.dense_rank,
        "keyword_rank": hit.keyword_rank,
    }


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="The question, in Chinese or English.")],
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, max=100)] = None,
    as_of: AsOfOpt = None,
    include_expired: ExpiredOpt = False,
    region: RegionOpt = None,
    issuer: IssuerOpt = None,
    doc: DocOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the passages that best answer QUESTION, best first."""
    from chatbot.answering.documents import Library
    from policyqa.compose import build_retriever, open_index

    if not question.strip():
        typer.echo("error: the question is empty", err=True)
        raise typer.Exit(code=2)
    try:
        settings = _settings()
        store = open_index(settings, create=False)
        scope = scope_of(
            settings.in_force_only, as_of, include_expired, region, issuer, doc, since, until
        )
        filters = Library(store).filters(scope)
        retriever = build_retriever(settings, store, one_shot=True)
        hits = retriever.search(question, top_k=top_k, filters=filters)
    except PolicyQAError as exc:
        raise _fail(exc) from exc
    if as_json:
        _print_json(
            {"question": question, "hits": [_hit_json(i, h) for i, h in enumerate(hits, 1)]}
        )
        return
    if not hits:
        typer.echo("no passages found")
    for i, hit in enumerate(hits, 1):
        c = hit.chunk
        where = f"{c.title}" + (f" › {c.locator}" if c.locator else "")
        typer.echo(f"[{i}] {where}  ({Path(c.source).name}, chars {c.start}-{c.end})")
        typer.echo("    " + c.text.replace("\n", " ")[:400])


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Chinese or English.")],
    as_of: AsOfOpt = None,
    include_expired: ExpiredOpt = False,
    region: RegionOpt = None,
    issuer: IssuerOpt = None,
    doc: DocOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer QUESTION with cited passages (extractive, or through the configured LLM)."""
    from chatbot.ui.render import answer_json, basis_line, checklist_lines, sources_text
    from policyqa.compose import build_answer_service, open_index

    try:
        settings = _settings()
        service = build_answer_service(settings, open_index(settings, create=False), one_shot=True)
        scope = scope_of(
            settings.in_force_only, as_of, include_expired, region, issuer, doc, since, until
        )
        answer = service.ask(question, scope=scope)
    except PolicyQAError as exc:
        raise _fail(exc) from exc
    if as_json:
        _print_json(answer_json(answer))
        return
    if answer.notice:
        typer.echo(f"({answer.notice})", err=True)
    typer.echo(answer.answer)
    for line in [*checklist_lines(answer), basis_line(answer)]:
        if line:
            typer.echo(line)
    for warning in answer.warnings:
        typer.echo(f"! {warning}")
    if answer.citations and not answer.refused:
        typer.echo("\n" + sources_text(answer))


HostOpt = Annotated[str, typer.Option(help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]


@app.command()
def serve(host: HostOpt = "127.0.0.1", port: PortOpt = 7860) -> None:
    """Serve the chat UI and the HTTP API (/api/ask, /v1/chat/completions)."""
    from policyqa.server import run

    try:
        settings = _settings()
        banner = f"PolicyQA on http://{host}:{port}/  (API: /api/ask, /v1/chat/completions)"
        run(settings, host, port, banner=lambda: typer.echo(banner))
    except PolicyQAError as exc:
        raise _fail(exc) from exc


@app.command()
def demo(host: HostOpt = "127.0.0.1", port: PortOpt = 7860) -> None:
    """Index the bundled demo corpus (sample documents) and serve the app."""
    from dataclasses import replace

    from ingest.pipeline import ingest_paths
    from policyqa.compose import build_ingestor, open_index
    from policyqa.server import DEMO_DIR, DEMO_INTERNAL_DIR, run

    try:
        settings = _settings()
        store = open_index(settings, create=True)
        ingestor = build_ingestor(settings, store)
        _print_report(ingest_paths([DEMO_DIR], ingestor))
        internal = replace(ingestor, labels=("internal",))
        _print_report(ingest_paths([DEMO_INTERNAL_DIR], internal))
        store.close()
        lines = [f"PolicyQA demo on http://{host}:{port}/  (API: /api/ask, /v1/chat/completions)"]
        if settings.admin_users is None:  # the demo's admin pages get a one-off password
            import secrets

            from pydantic import SecretStr

            password = secrets.token_urlsafe(9)
            settings = settings.model_copy(update={"admin_users": SecretStr(f"admin:{password}")})
            lines.append(
                f"Admin pages: http://{host}:{port}/admin  (user admin, password {password})"
            )
        run(settings, host, port, banner=lambda: typer.echo("\n".join(lines)))
    except PolicyQAError as exc:
        raise _fail(exc) from exc


def main() -> None:
    app()
