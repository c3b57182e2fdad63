"""Eval runs, composed: load a set, sample and restrict it, index its corpus with the real
ingest pipeline (cached by content), build the answer service as the app does, and score.

The CLI (``policyqa eval run``) and the admin pages' Evaluation tab both call
:func:`run_eval_set`, so there is one orchestration; ``eval`` itself only scores what it is given.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index_store.errors import PolicyQAError
from index_store.settings import Settings

if TYPE_CHECKING:
    from chatbot.answering.llm import LLMClient
    from eval.datasets import EvalSet, Split
    from eval.run import EvalReport
    from index_store.store import IndexStore

logger = logging.getLogger(__name__)

Table = list[list[object]]


@dataclass(frozen=True)
class EvalOptions:
    """What part of a set to run, and how (see ``policyqa eval run --help``)."""

    split: Split = "all"
    limit: int | None = None
    seed: int = 13
    max_docs: int | None = None
    negatives_from: Path | None = None
    negatives: int = 100
    chat: bool = False
    llm: bool = False  # answer with the configured LLM (reports faithfulness), else extractive


def read_page(path: Path) -> tuple[str, str]:
    """A markdown page of an eval set as ingest reads it: (text, title)."""
    from ingest.loaders import load_file

    doc = load_file(path, 1 << 30)
    return doc.text, doc.title


def load_set(path: Path, options: EvalOptions) -> EvalSet:
    """The set at ``path``: split, sampled, its corpus restricted, negatives added."""
    from eval.datasets import load_eval_set
    from eval.negatives import with_negatives
    from eval.run import restrict_corpus

    eval_set = load_eval_set(path, read_page).split(options.split)
    eval_set = restrict_corpus(
        eval_set.sample(options.limit, options.seed), options.max_docs, options.seed
    )
    if options.negatives_from is not None and options.negatives:
        others = load_eval_set(options.negatives_from, read_page)
        eval_set = with_negatives(eval_set, others, options.negatives, options.seed)
    return eval_set


def _index_dir(eval_set: EvalSet, settings: Settings) -> Path:
    from index_store.embedding.factory import embedder_key
    from index_store.keyword import TOKENIZER_VERSION
    from index_store.structure import STRUCTURE_VERSION
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import CHUNKER_VERSION

    chunking = ChunkingConfig.from_settings(settings)
    versions = f"{CHUNKER_VERSION}.{TOKENIZER_VERSION}.{STRUCTURE_VERSION}"
    key = f"{embedder_key(settings)}|{chunking}|{versions}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return settings.cache_dir / "eval" / f"{eval_set.name}-{eval_set.fingerprint}-{digest}"


def build_eval_index(
    eval_set: EvalSet, settings: Settings, on_progress: Callable[[int], None] | None = None
) -> IndexStore:
    """The set's corpus ingested with the real pipeline into an index cached by corpus
    content; a second run re-uses it (every document is 'unchanged')."""
    from index_store.embedding.factory import embedder_key
    from index_store.open_index import open_store
    from index_store.records import SourceDocument
    from index_store.text import normalize_text
    from ingest.pipeline import ingest_documents
    from policyqa.compose import build_ingestor

    # Eval indexes are always embedded Chroma: they are private, derived data.
    local = settings.model_copy(update={"chroma_url": ""})
    directory = _index_dir(eval_set, settings)
    store = open_store(local, embedder_key(settings), create=True, index_dir=directory)
    ingestor = build_ingestor(local, store)
    docs = (
        SourceDocument(source=d.doc_id, text=normalize_text(d.text), title=d.title, kind="eval")
        for d in eval_set.documents
    )
    done = 0

    def progress(_: object) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done)

    report = ingest_documents(docs, ingestor, progress)
    logger.info(
        "eval index ready dir=%s added=%d unchanged=%d embedded=%d seconds=%.1f",
        directory,
        len(report.by_status("added")),
        len(report.by_status("unchanged")),
        report.embedded_chunks,
        report.seconds,
    )
    return store


def run_eval_set(
    path: Path,
    settings: Settings,
    options: EvalOptions = EvalOptions(),
    judge_llm: LLMClient | None = None,
    on_progress: Callable[[float, str], None] | None = None,
) -> EvalReport:
    """Run the eval set at ``path`` through the real pipeline and score it. The answer service
    is the app's, extractive unless ``options.llm``: evals are offline and reproducible by
    default."""
    from eval.run import run_eval
    from policyqa.compose import build_answer_service

    def say(done: float, what: str) -> None:
        if on_progress is not None:
            on_progress(done, what)

    say(0.0, "loading")
    eval_set = load_set(path, options)
    say(0.05, f"indexing {len(eval_set.documents)} documents")
    store = build_eval_index(eval_set, settings)
    try:
        service = build_answer_service(settings, store, with_llm=options.llm)
        return run_eval(
            eval_set, store, service, judge_llm=judge_llm, chat=options.chat,
            on_progress=lambda i, n: say(0.1 + 0.9 * i / n, f"question {i}/{n}"),
        )  # fmt: skip
    finally:
        store.close()


class EvalRunner:
    """The Evaluation tab's backend: the eval sets under ``settings.eval_data_dir``, each run
    on a sample with progress. The UI receives it from the server, so ``chatbot`` never
    imports ``eval``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.eval_data_dir

    def where(self) -> str:
        """The folder the sets are looked for in, as an absolute path."""
        return str(self.root.expanduser().resolve())

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
        from eval.report import report_html

        if name not in self.sets():
            raise PolicyQAError(f"no eval set {name!r} in {self.root}")
        options = EvalOptions(limit=limit, max_docs=max_docs)
        report = run_eval_set(self.root / name, self.settings, options, on_progress=progress)
        if html_dir is not None:
            (html_dir / f"{name}.html").write_text(report_html(report), encoding="utf-8")
        metrics: Table = [[k, round(v, 3)] for k, v in report.metrics.items()]
        rows: Table = [
            [r.qid, r.question, r.reference or "", r.answer, "pass" if r.passed else "fail"]
            for r in report.per_question
        ]
        return metrics, rows
