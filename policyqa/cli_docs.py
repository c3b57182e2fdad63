"""`policyqa docs` (what the index holds) and `policyqa feedback` (answer ratings)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from index_store.errors import PolicyQAError
from policyqa.cli_common import JsonOpt, fail, print_json, settings

docs_app = typer.Typer(help="List or remove indexed documents.", no_args_is_help=True)
feedback_app = typer.Typer(
    help="Answer feedback: list, export as an eval set.", no_args_is_help=True
)


@docs_app.command("list")
def docs_list(as_json: JsonOpt = False) -> None:
    """List the indexed documents."""
    from policyqa.compose import open_index

    try:
        records = open_index(settings(), create=False).documents()
    except PolicyQAError as exc:
        raise fail(exc) from exc
    if as_json:
        print_json([asdict(r) for r in records])
        return
    rows = [["doc_id", "chunks", "title", "文号 / number", "valid", "labels", "source"]]
    for r in records:
        i = r.info
        dates = f"{i.effective or i.published or '?'}..{i.expires or '?'}"
        rows.append(
            [r.doc_id, str(r.n_chunks), r.title, i.doc_number or "-", dates,
             ",".join(i.labels), r.source]
        )  # fmt: skip
    for row in _aligned(rows):
        typer.echo(row)
    typer.echo(f"{len(records)} documents")


def _aligned(rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell (a CJK character counts two), whole titles."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    widths = [max(width(row[c]) for row in rows) for c in range(len(rows[0]))]
    return [
        "  ".join(cell + " " * (widths[c] - width(cell)) for c, cell in enumerate(row)).rstrip()
        for row in rows
    ]


@docs_app.command("remove")
def docs_remove(
    ref: Annotated[str, typer.Argument(help="Document id or path, as `docs list` shows.")],
) -> None:
    """Remove a document and all its chunks from the index."""
    from ingest.pipeline import remove_document
    from policyqa.compose import open_index

    try:
        record = remove_document(open_index(settings(), create=False), ref)
    except PolicyQAError as exc:
        raise fail(exc) from exc
    typer.echo(f"removed {record.doc_id} ({record.n_chunks} chunks) {record.source}")


@feedback_app.command("list")
def feedback_list(as_json: JsonOpt = False) -> None:
    """List the ratings given to answers, newest first."""
    from chatbot.web.feedback import FeedbackStore

    items = FeedbackStore(settings().feedback_file.expanduser()).items()
    if as_json:
        print_json([asdict(i) for i in items])
        return
    for i in items:
        mark = "+" if i.rating > 0 else "-"
        typer.echo(f"{i.id:5d} {mark} {i.status:9s} {i.question[:40]}  {i.reason[:40]}")
    typer.echo(f"{len(items)} items")


@feedback_app.command("export")
def feedback_export(
    folder: Annotated[Path, typer.Argument(help="Folder for queries.jsonl and corpus.jsonl.")],
) -> None:
    """Write the reviewed feedback as an eval set; run it with `policyqa eval FOLDER`."""
    from chatbot.web.feedback import FeedbackStore, export_eval_set, index_corpus
    from policyqa.compose import open_index

    try:
        config = settings()
        store = open_index(config, create=False)
        feedback = FeedbackStore(config.feedback_file.expanduser())
        n = export_eval_set(feedback, folder, index_corpus(store))
    except PolicyQAError as exc:
        raise fail(exc) from exc
    typer.echo(f"exported {n} cases to {folder} (run: policyqa eval {folder})")
