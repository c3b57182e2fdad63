"""The ``policyqa`` command line. Commands parse arguments, call one service, and render.

JSON goes to stdout, logs to stderr. Exit codes: 0 success, 1 some input failed, 2 usage or
configuration error.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from index_store.errors import PolicyQAError
from policyqa.cli_common import (
    AsOfOpt,
    DocOpt,
    ExpiredOpt,
    IssuerOpt,
    RegionOpt,
    SinceOpt,
    UntilOpt,
    scope_of,
)
from policyqa.cli_common import fail as _fail
from policyqa.cli_common import print_json as _print_json
from policyqa.cli_common import settings as _settings
from policyqa.cli_ops import bench, index_app

if TYPE_CHECKING:
    from index_store.records import FileOutcome, Hit, IngestReport

app = typer.Typer(
    help="Answer questions about policy documents with cited passages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
docs_app = typer.Typer(help="List or remove indexed documents.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
app.add_typer(index_app, name="index")
app.command()(bench)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


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
    collection: Annotated[str, typer.Option(help="Collection the documents belong to.")] = (
        "default"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Add or update documents; unchanged files are skipped, changed ones replaced."""
    from dataclasses import replace

    from ingest.pipeline import ingest_paths, iter_files
    from policyqa.services import build_ingestor, open_index

    try:
        settings = _settings()
        store = open_index(settings, create=True)
        ingestor = replace(
            build_ingestor(settings, store),
            labels=tuple(labels or ("public",)),
            collection=collection,
        )
        total = sum(1 for _ in iter_files(paths))
        if sys.stderr.isatty() and not as_json:
            from rich.progress import Progress

            with Progress(transient=True) as progress:
                task = progress.add_task("ingesting", total=total)

                def advance(outcome: FileOutcome) -> None:
                    progress.update(task, advance=1, description=Path(outcome.source).name[:40])

                report = ingest_paths(paths, ingestor, advance)
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


def _report_json(report: IngestReport) -> dict[str, Any]:
    summary: dict[str, Any] = {
        status: [
            {k: v for k, v in asdict(o).items() if k != "status" and v is not None}
            for o in report.by_status(status)
        ]
        for status in ("added", "updated", "unchanged", "failed")
    }
    summary["counts"] = {s: len(summary[s]) for s in ("added", "updated", "unchanged", "failed")}
    summary["chunks"] = sum(o.chunks for o in report.outcomes if o.status != "failed")
    summary["embedded_chunks"] = report.embedded_chunks
    summary["seconds"] = round(report.seconds, 3)
    return summary


def _print_report(report: IngestReport) -> None:
    for outcome in report.by_status("failed"):
        typer.echo(f"failed   {outcome.source}: [{outcome.reason}] {outcome.message}", err=True)
    counts = {s: len(report.by_status(s)) for s in ("added", "updated", "unchanged", "failed")}
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
    from chatbot.library import Library
    from policyqa.services import build_retriever, open_index

    if not question.strip():
        typer.echo("error: the question is empty", err=True)
        raise typer.Exit(code=2)
    try:
        settings = _settings()
        store = open_index(settings, create=False)
        scope = scope_of(as_of, include_expired, region, issuer, doc, since, until)
        filters = Library(store).filters(scope)
        hits = build_retriever(settings, store).search(question, top_k=top_k, filters=filters)
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
    from chatbot.render import answer_json, basis_line, checklist_lines, sources_text
    from policyqa.services import build_answer_service, open_index

    try:
        settings = _settings()
        service = build_answer_service(settings, open_index(settings, create=False))
        scope = scope_of(as_of, include_expired, region, issuer, doc, since, until)
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
        typer.echo(f"PolicyQA on http://{host}:{port}/  (API: /api/ask, /v1/chat/completions)")
        run(settings, host, port)
    except PolicyQAError as exc:
        raise _fail(exc) from exc


@app.command()
def demo(host: HostOpt = "127.0.0.1", port: PortOpt = 7860) -> None:
    """Index the bundled demo corpus (sample documents) and serve the app."""
    from dataclasses import replace

    from ingest.pipeline import ingest_paths
    from policyqa.server import DEMO_DIR, DEMO_INTERNAL_DIR, run
    from policyqa.services import build_ingestor, open_index

    try:
        settings = _settings()
        store = open_index(settings, create=True)
        ingestor = build_ingestor(settings, store)
        _print_report(ingest_paths([DEMO_DIR], ingestor))
        internal = replace(ingestor, labels=("internal",))
        _print_report(ingest_paths([DEMO_INTERNAL_DIR], internal))
        store.close()
        typer.echo(f"PolicyQA demo on http://{host}:{port}/  (API: /api/ask, /v1/chat/completions)")
        if settings.admin_users is None:  # the demo's admin pages get a one-off password
            import secrets

            from pydantic import SecretStr

            password = secrets.token_urlsafe(9)
            settings = settings.model_copy(update={"admin_users": SecretStr(f"admin:{password}")})
            typer.echo(
                f"Admin pages: http://{host}:{port}/admin  (user admin, password {password})"
            )
        run(settings, host, port)
    except PolicyQAError as exc:
        raise _fail(exc) from exc


@docs_app.command("list")
def docs_list(as_json: JsonOpt = False) -> None:
    """List the indexed documents."""
    from policyqa.services import open_index

    try:
        records = open_index(_settings(), create=False).documents()
    except PolicyQAError as exc:
        raise _fail(exc) from exc
    if as_json:
        _print_json([asdict(r) for r in records])
        return
    for r in records:
        i = r.info
        dates = f"{i.effective or i.published or '?'}..{i.expires or '?'}"
        typer.echo(
            f"{r.doc_id}  {r.n_chunks:4d} chunks  {r.title[:40]}  {i.doc_number or '-'}  "
            f"{dates}  [{','.join(i.labels)}]  {r.source}"
        )
    typer.echo(f"{len(records)} documents")


@docs_app.command("remove")
def docs_remove(
    ref: Annotated[str, typer.Argument(help="Document id or path, as `docs list` shows.")],
) -> None:
    """Remove a document and all its chunks from the index."""
    from ingest.pipeline import remove_document
    from policyqa.services import open_index

    try:
        record = remove_document(open_index(_settings(), create=False), ref)
    except PolicyQAError as exc:
        raise _fail(exc) from exc
    typer.echo(f"removed {record.doc_id} ({record.n_chunks} chunks) {record.source}")


def _parse_floors(values: list[str]) -> dict[str, float]:
    floors: dict[str, float] = {}
    for item in values:
        name, sep, value = item.partition("=")
        try:
            floors[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise typer.BadParameter(f"{item!r}: expected METRIC=VALUE, e.g. passage_hit@5=0.8")
    return floors


class _DefaultRunGroup(TyperGroup):
    """``policyqa eval PATH`` means ``policyqa eval run PATH``; ``eval compare`` compares."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args.insert(0, "run")
        return super().resolve_command(ctx, args)


eval_app = typer.Typer(
    cls=_DefaultRunGroup,
    help="Measure retrieval, answers, citations and refusals on an eval set.",
    no_args_is_help=True,
)
app.add_typer(eval_app, name="eval")


@eval_app.command("run")
def eval_run(
    path: Annotated[Path, typer.Argument(help="Eval set folder (see README, Evaluation).")],
    limit: Annotated[
        int | None, typer.Option(min=1, help="Score a fixed sample of N questions.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 13,
    max_docs: Annotated[
        int | None,
        typer.Option(min=1, help="Index the gold documents plus random others up to N documents."),
    ] = None,
    negatives_from: Annotated[
        Path | None, typer.Option(help="Another eval set whose questions this corpus must refuse.")
    ] = None,
    negatives: Annotated[int, typer.Option(min=0, help="How many such questions.")] = 100,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the report as JSON.")
    ] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    fail_under: Annotated[
        list[str] | None, typer.Option(help="METRIC=VALUE floor; repeatable. Exit 1 when below.")
    ] = None,
    fail_over: Annotated[
        list[str] | None,
        typer.Option(help="METRIC=VALUE ceiling (false_refusal_rate, latency); exit 1 when above."),
    ] = None,
    use_judge: Annotated[
        bool, typer.Option("--judge", help="Grade answers with the configured LLM (optional).")
    ] = False,
) -> None:
    """Run an eval set through the real pipeline (index cached per corpus) and score it."""
    from eval.datasets import load_eval_set
    from eval.negatives import with_negatives
    from eval.report import report_html, report_json, summary_table
    from eval.run import build_index, make_service, restrict_corpus, run_eval
    from index_store.errors import ConfigError
    from policyqa.services import build_llm

    floors = _parse_floors(fail_under or [])
    ceilings = _parse_floors(fail_over or [])
    try:
        settings = _settings()
        judge_llm = build_llm(settings) if use_judge else None
        if use_judge and judge_llm is None:
            raise ConfigError(
                "--judge needs an LLM: set OPENAI_API_KEY and/or OPENAI_BASE_URL "
                "and POLICYQA_LLM_MODEL"
            )
        eval_set = load_eval_set(path).sample(limit, seed)
        eval_set = restrict_corpus(eval_set, max_docs, seed)
        if negatives_from is not None and negatives:
            eval_set = with_negatives(eval_set, load_eval_set(negatives_from), negatives, seed)
        store = build_index(eval_set, settings)
        report = run_eval(eval_set, store, make_service(store, settings), judge_llm=judge_llm)
    except PolicyQAError as exc:
        raise _fail(exc) from exc
    typer.echo(summary_table(report))
    if json_out is not None:
        json_out.write_text(
            json.dumps(report_json(report), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    if html_out is not None:
        html_out.write_text(report_html(report), encoding="utf-8")
    below = {
        m: (report.metrics.get(m), v)
        for m, v in floors.items()
        if report.metrics.get(m, float("-inf")) < v
    }
    above = {
        m: (report.metrics.get(m), v)
        for m, v in ceilings.items()
        if report.metrics.get(m, float("inf")) > v
    }
    for name, (got, floor) in below.items():
        typer.echo(f"FAIL {name}: {got if got is not None else 'not measured'} < {floor}", err=True)
    for name, (got, ceiling) in above.items():
        shown = got if got is not None else "not measured"
        typer.echo(f"FAIL {name}: {shown} > {ceiling}", err=True)
    if below or above:
        raise typer.Exit(code=1)


@eval_app.command("compare")
def eval_compare(
    a: Annotated[Path, typer.Argument(help="Baseline JSON report.")],
    b: Annotated[Path, typer.Argument(help="New JSON report.")],
) -> None:
    """Metric deltas between two JSON reports and the questions that went from pass to fail."""
    from eval.report import compare, format_comparison

    try:
        first, second = (json.loads(p.read_text(encoding="utf-8")) for p in (a, b))
    except (OSError, json.JSONDecodeError) as exc:
        typer.echo(f"error: cannot read the reports: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(format_comparison(compare(first, second)))


def main() -> None:
    app()
