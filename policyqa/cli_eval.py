"""`policyqa eval`: run an eval set, gate on floors, compare reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from index_store.errors import PolicyQAError
from policyqa.cli_common import fail as _fail
from policyqa.cli_common import settings as _settings


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
    help="Measure retrieval, answers, citations and refusals on an eval set. "
    "`policyqa eval PATH [OPTIONS]` is short for `policyqa eval run PATH [OPTIONS]`.",
    no_args_is_help=True,
)


@eval_app.command("run")
def eval_run(
    path: Annotated[Path, typer.Argument(help="Eval set folder (see README, Evaluation).")],
    limit: Annotated[
        int | None, typer.Option(min=1, help="Score a fixed sample of N questions.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 13,
    split: Annotated[
        str,
        typer.Option(help="all, dev (7 in 10 questions, to tune on) or test (the other 3)."),
    ] = "all",
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
    llm: Annotated[
        bool,
        typer.Option(
            "--llm",
            help="Answer with the configured LLM as the app does, and report faithfulness "
            "(the share of cited sentences their passages support). Default: extractive.",
        ),
    ] = False,
    chat: Annotated[
        bool,
        typer.Option(
            "--chat",
            help="Ask a follow-up's earlier questions first and keep their answers in its "
            "history, as in a chat (default: the earlier questions alone, as the set gives them).",
        ),
    ] = False,
) -> None:
    """Run an eval set through the real pipeline (index cached per corpus) and score it."""
    from eval.report import report_html, report_json, summary_table
    from index_store.errors import ConfigError
    from policyqa.compose import build_llm
    from policyqa.evaluation import EvalOptions, run_eval_set

    floors = _parse_floors(fail_under or [])
    ceilings = _parse_floors(fail_over or [])
    if split not in ("all", "dev", "test"):
        raise typer.BadParameter(f"--split {split!r}: use all, dev or test")
    options = EvalOptions(
        split=split,  # type: ignore[arg-type]
        limit=limit,
        seed=seed,
        max_docs=max_docs,
        negatives_from=negatives_from,
        negatives=negatives,
        chat=chat,
        llm=llm,
    )
    try:
        settings = _settings()
        judge_llm = build_llm(settings) if use_judge else None
        if use_judge and judge_llm is None:
            raise ConfigError(
                "--judge needs an LLM: set OPENAI_API_KEY and/or OPENAI_BASE_URL "
                "and POLICYQA_LLM_MODEL"
            )
        report = run_eval_set(path, settings, options, judge_llm)
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
