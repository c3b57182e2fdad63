"""Dev and test metrics from one full eval report: ``python -m tools.split_metrics REPORT.json``.

An eval run over every question (``policyqa eval run … --json``) is cut by the same question-id
split that ``--split`` uses, so one run gives all, dev and test figures that agree with separate
runs (negative questions, which have no split of their own, count in both)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.datasets import split_of
from eval.run import CitationResult, QueryResult, summarize

SHOWN = (
    "doc_hit@1", "doc_hit@5", "doc_mrr@10", "passage_hit@1", "passage_hit@5", "passage_mrr@10",
    "answer_contains", "citation_precision", "citation_recall", "refusal_accuracy",
    "false_refusal_rate", "latency_p50_ms", "latency_p95_ms",
)  # fmt: skip


def results(report: dict[str, object]) -> list[QueryResult]:
    out = []
    for row in report["per_question"]:  # type: ignore[attr-defined]
        fields = dict(row)
        fields["citations"] = tuple(CitationResult(**c) for c in fields["citations"])
        for key in ("gold_doc_ids", "retrieved_doc_ids"):
            fields[key] = tuple(fields[key])
        out.append(QueryResult(**fields))
    return out


def by_split(rows: list[QueryResult]) -> dict[str, dict[str, float]]:
    parts = {"all": rows}
    for part in ("dev", "test"):
        parts[part] = [r for r in rows if r.should_refuse or split_of(r.qid) == part]
    return {name: summarize(part) for name, part in parts.items()}


def sweep(rows: list[QueryResult], part: str) -> list[tuple[float, float, float]]:
    """(threshold, refusal accuracy, false-refusal rate) over the ``part`` split's questions if
    refusing below each threshold of the reranker's ``best_answerable``."""
    kept = [r for r in rows if r.best_answerable is not None]
    neg = [r.best_answerable or 0.0 for r in kept if r.should_refuse]
    pos = [
        r.best_answerable or 0.0 for r in kept if not r.should_refuse and split_of(r.qid) == part
    ]
    out = []
    for t in [i / 100 for i in range(5, 96, 5)]:
        acc = sum(p < t for p in neg) / max(len(neg), 1)
        frr = sum(p < t for p in pos) / max(len(pos), 1)
        out.append((t, acc, frr))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports", type=Path, nargs="+")
    parser.add_argument("--thresholds", default="", help="dev or test: sweep refusal thresholds")
    args = parser.parse_args()
    if args.thresholds:
        rows = [r for path in args.reports for r in results(json.loads(path.read_text()))]
        for t, acc, frr in sweep(rows, args.thresholds):
            print(f"  min_answerable {t:.2f}  refusal {acc:.3f}  false refusals {frr:.3f}")
        return
    for path in args.reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        split = by_split(results(report))
        print(f"{report['dataset']} ({path.name})")
        for name in SHOWN:
            if name in split["all"]:
                cells = [f"{split[p].get(name, float('nan')):.3f}" for p in ("all", "dev", "test")]
                print(f"  {name:<20} " + "  ".join(cells))


if __name__ == "__main__":
    main()
