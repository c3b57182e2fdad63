"""Eval outputs: the JSON report, a terminal table, a self-contained HTML page, and the
comparison of two JSON reports. Every piece of text in the HTML is escaped: questions,
answers and documents are untrusted."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

from eval.run import K_VALUES, EvalReport

LOWER_IS_BETTER = {"false_refusal_rate", "latency_p50_ms", "latency_p95_ms"}


def report_json(report: EvalReport) -> dict[str, Any]:
    """``{"dataset", "n", "config", "metrics": {name: value}, "per_question": [...]}``."""
    return {
        "dataset": report.dataset,
        "n": report.n,
        "config": report.config,
        "metrics": report.metrics,
        "per_question": [asdict(r) for r in report.per_question],
    }


def summary_table(report: EvalReport) -> str:
    cfg = report.config
    lines = [
        f"{report.dataset}: {report.n} questions, {cfg.get('corpus_docs')} documents, "
        f"{cfg.get('chunks')} chunks, mode {cfg.get('mode')}"
    ]
    lines += [f"  {name:<20} {value:8.3f}" for name, value in report.metrics.items()]
    return "\n".join(lines)


# -- comparison ---------------------------------------------------------------------------------


# What an answer is, for telling whether two runs answered a question the same way.
ANSWER_FIELDS = ("answer", "refused", "citations", "doc_rank", "passage_rank", "retrieved_doc_ids")


@dataclass(frozen=True)
class Comparison:
    deltas: list[tuple[str, float | None, float | None]]
    regressions: list[tuple[str, str]]  # (qid, question) that passed in A and fail in B
    fixes: list[tuple[str, str]]
    # Questions in both whose answer, refusal, citations or ranks differ (pass or fail alike).
    changed: list[tuple[str, str]] = field(default_factory=list)


def compare(a: dict[str, Any], b: dict[str, Any]) -> Comparison:
    names = list(dict.fromkeys([*a["metrics"], *b["metrics"]]))
    deltas = [(n, a["metrics"].get(n), b["metrics"].get(n)) for n in names]
    # A question id may repeat in a set: the n-th occurrence in B meets the n-th in A.
    passed_a = dict(zip(_occurrences(a["per_question"]), a["per_question"], strict=True))
    regressions, fixes, changed = [], [], []
    for key, q in zip(_occurrences(b["per_question"]), b["per_question"], strict=True):
        before = passed_a.get(key)
        if before is None:
            continue
        if before["passed"] and not q["passed"]:
            regressions.append((q["qid"], q["question"]))
        elif not before["passed"] and q["passed"]:
            fixes.append((q["qid"], q["question"]))
        if any(before.get(f) != q.get(f) for f in ANSWER_FIELDS):
            changed.append((q["qid"], q["question"]))
    return Comparison(deltas, regressions, fixes, changed)


def _occurrences(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    seen: dict[str, int] = {}
    keys = []
    for row in rows:
        seen[row["qid"]] = seen.get(row["qid"], 0) + 1
        keys.append((row["qid"], seen[row["qid"]]))
    return keys


def format_comparison(c: Comparison) -> str:
    def cell(v: float | None) -> str:
        return "       —" if v is None else f"{v:8.3f}"

    lines = [f"{'metric':<20} {'A':>8} {'B':>8} {'delta':>8}"]
    for name, va, vb in c.deltas:
        delta, flag = "", ""
        if va is not None and vb is not None:
            delta = f"{vb - va:+8.3f}"
            change = vb - va if name in LOWER_IS_BETTER else va - vb
            flag = "  worse" if change > 1e-9 else ""
        lines.append(f"{name:<20} {cell(va)} {cell(vb)} {delta:>8}{flag}")
    lines.append(f"\n{len(c.regressions)} questions went from pass to fail:")
    lines += [f"  {qid}  {question}" for qid, question in c.regressions]
    lines.append(f"{len(c.fixes)} questions went from fail to pass.")
    lines.append(
        f"{len(c.changed)} questions were answered differently (text, citations or ranks)."
    )
    return "\n".join(lines)


# -- HTML ---------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>PolicyQA eval — {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; }}
table {{ border-collapse: collapse; width: 100%; font-size: .85em; }}
th, td {{ border: 1px solid #d0d7de; padding: .3em .5em; vertical-align: top; text-align: left; }}
td.pass {{ color: #1a7f37; font-weight: bold; }} td.fail {{ color: #cf222e; font-weight: bold; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 2em; }} figure {{ margin: 0; }}
</style></head><body>
<h1>PolicyQA eval — {title}</h1>
<p>{summary}</p>
<div class="charts">
<figure><figcaption>Metrics</figcaption>{bars}</figure>
<figure><figcaption>Latency per question (ms)</figcaption>{histogram}</figure>
<figure><figcaption>Hit rate at k</figcaption>{curve}</figure>
</div>
<h2>Questions</h2>
<table><thead><tr><th>id</th><th>question</th><th>reference</th><th>answer</th>
<th>citations</th><th>result</th></tr></thead><tbody>
{rows}
</tbody></table></body></html>
"""


def _bars(metrics: dict[str, float]) -> str:
    rates = [(k, v) for k, v in metrics.items() if not k.startswith("latency")]
    height = 22 * len(rates) + 10
    parts = [f'<svg width="460" height="{height}" role="img">']
    for i, (name, value) in enumerate(rates):
        y = 5 + 22 * i
        width = max(0.0, min(1.0, value)) * 250
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="12">{html.escape(name)}</text>'
            f'<rect x="150" y="{y}" width="{width:.1f}" height="16" fill="#0969da"/>'
            f'<text x="{155 + width:.1f}" y="{y + 14}" font-size="12">{value:.3f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _histogram(latencies: list[float], bins: int = 12) -> str:
    if not latencies:
        return "<p>no data</p>"
    top = max(latencies) or 1.0
    counts = [0] * bins
    for v in latencies:
        counts[min(bins - 1, int(v / top * bins))] += 1
    peak = max(counts)
    parts = ['<svg width="360" height="180" role="img">']
    for i, c in enumerate(counts):
        h = c / peak * 140
        parts.append(
            f'<rect x="{10 + i * 28}" y="{150 - h:.1f}" width="24" height="{h:.1f}" fill="#8250df">'
            f"<title>{top * i / bins:.0f}–{top * (i + 1) / bins:.0f} ms: {c}</title></rect>"
        )
    parts.append(
        f'<text x="10" y="170" font-size="11">0</text>'
        f'<text x="300" y="170" font-size="11">{top:.0f} ms</text></svg>'
    )
    return "".join(parts)


def _curve(metrics: dict[str, float]) -> str:
    series = [
        (prefix, color, [metrics.get(f"{prefix}_hit@{k}") for k in K_VALUES])
        for prefix, color in (("doc", "#0969da"), ("passage", "#bf3989"))
    ]
    parts = ['<svg width="300" height="180" role="img">']
    for i, k in enumerate(K_VALUES):
        parts.append(f'<text x="{20 + i * 80}" y="175" font-size="11">@{k}</text>')
    for prefix, color, values in series:
        points = [
            f"{25 + i * 80},{160 - v * 150:.1f}" for i, v in enumerate(values) if v is not None
        ]
        if points:
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                f'points="{" ".join(points)}"><title>{prefix}</title></polyline>'
            )
    parts.append("</svg>")
    return "".join(parts)


def report_html(report: EvalReport) -> str:
    """One self-contained page: no scripts, no external resources, all text escaped."""
    rows = []
    for r in report.per_question:
        cites = "<br>".join(
            f"[{c.n}] {html.escape(c.doc_id)} {html.escape(c.locator)}" + (" ✓" if c.gold else "")
            for c in r.citations
        )
        result = "pass" if r.passed else "fail"
        rows.append(
            f"<tr><td>{html.escape(r.qid)}</td><td>{html.escape(r.question)}</td>"
            f"<td>{html.escape(r.reference or '')}</td><td>{html.escape(r.answer)}</td>"
            f'<td>{cites}</td><td class="{result}">{result}</td></tr>'
        )
    summary = html.escape(
        f"{report.n} questions · {report.config.get('corpus_docs')} documents · "
        f"{report.config.get('chunks')} chunks · mode {report.config.get('mode')} · "
        f"embedder {report.config.get('embedder')}"
    )
    return _PAGE.format(
        title=html.escape(report.dataset),
        summary=summary,
        bars=_bars(report.metrics),
        histogram=_histogram([r.latency_ms for r in report.per_question]),
        curve=_curve(report.metrics),
        rows="\n".join(rows),
    )
