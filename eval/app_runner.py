"""The Evaluation tab's backend: list the eval sets in a folder and run one, reporting
progress. The UI receives it from the composition root, so ``chatbot`` never imports ``eval``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eval.datasets import load_eval_set
from eval.report import report_html
from eval.run import build_index, make_service, restrict_corpus, run_eval
from index_store.errors import PolicyQAError
from index_store.settings import Settings

Table = list[list[object]]


class EvalRunner:
    """Runs eval sets found under ``settings.eval_data_dir`` with the app's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.eval_data_dir

    def sets(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if (p / "corpus.jsonl").exists() or (p / "handbook").is_dir()
        )

    def run(
        self,
        name: str,
        limit: int,
        max_docs: int,
        progress: Callable[[float, str], None],
        html_dir: Path | None = None,
    ) -> tuple[Table, Table]:
        """Metrics rows and per-question rows of a sampled run (index cached per corpus)."""
        if name not in self.sets():
            raise PolicyQAError(f"no eval set {name!r} in {self.root}")
        progress(0.0, "loading")
        eval_set = restrict_corpus(load_eval_set(self.root / name).sample(limit, 13), max_docs, 13)
        progress(0.05, f"indexing {len(eval_set.documents)} documents")
        store = build_index(eval_set, self.settings)
        try:
            report = run_eval(
                eval_set, store, make_service(store, self.settings),
                on_progress=lambda i, n: progress(0.1 + 0.9 * i / n, f"question {i}/{n}"),
            )  # fmt: skip
        finally:
            store.close()
        if html_dir is not None:
            (html_dir / f"{name}.html").write_text(report_html(report), encoding="utf-8")
        metrics: Table = [[k, round(v, 3)] for k, v in report.metrics.items()]
        rows: Table = [
            [r.qid, r.question, r.reference or "", r.answer, "pass" if r.passed else "fail"]
            for r in report.per_question
        ]
        return metrics, rows
