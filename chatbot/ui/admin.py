"""The admin pages (behind a login): documents, feedback review, evaluation runs.

Callbacks parse input, call a backend, and render; backends are passed in as protocols so the
UI never imports the ingest pipeline or the eval runner.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol, TypeVar

import gradio as gr

from chatbot.web.feedback import FeedbackStatus, FeedbackStore
from index_store.errors import PolicyQAError
from index_store.policy import DEFAULT_COLLECTION, PUBLIC_LABEL

T = TypeVar("T")


NO_EVAL_SETS = (
    "未找到评测集：`{where}`。请将 `POLICYQA_EVAL_DATA_DIR` 设为评测集所在的文件夹（每个评测集含 "
    "corpus.jsonl 与 queries.jsonl）。 / No eval sets in `{where}`: set `POLICYQA_EVAL_DATA_DIR` "
    "to a folder of eval sets (each with corpus.jsonl and queries.jsonl), then restart."
)


class EvalBackend(Protocol):
    """What the Evaluation tab needs (``policyqa.evaluation.EvalRunner`` provides it)."""

    def sets(self) -> list[str]: ...

    def where(self) -> str: ...

    def run(
        self, name: str, limit: int, max_docs: int, progress: Callable[[float, str], None]
    ) -> tuple[list[list[object]], list[list[object]]]: ...


class DocumentBackend(Protocol):
    """What the Documents tab needs (``policyqa.manage.DocumentManager`` provides it)."""

    def rows(self) -> list[list[object]]: ...

    def upload(
        self, paths: list[str], labels: list[str], collection: str, progress: Progress
    ) -> list[list[object]]: ...

    def reingest(self, doc_ids: list[str], progress: Progress) -> list[list[object]]: ...

    def delete(self, doc_ids: list[str]) -> int: ...

    def export_feedback(self) -> str: ...


Progress = Callable[[float, str], None]
DOCUMENT_HEADERS = [
    "doc_id", "title", "文号 / number", "发文机关 / issuer", "地区 / region", "发布 / published",
    "施行 / effective", "有效期至 / expires", "状态 / status", "labels", "collection", "chunks",
]  # fmt: skip
# Shares of the page width, so that all twelve columns fit and long values wrap.
DOCUMENT_WIDTHS = ("13%", "17%", "9%", "10%", "6%", "7%", "7%", "7%", "8%", "6%", "6%", "4%")
FEEDBACK_HEADERS = ["id", "rating", "reason", "question", "answer", "cited", "status", "user"]


def build_admin_ui(
    evals: EvalBackend, documents: DocumentBackend, feedback: FeedbackStore | None
) -> gr.Blocks:
    """The admin pages (served behind a login): documents, feedback review, evaluation runs."""
    with gr.Blocks(title="PolicyQA admin", analytics_enabled=False) as admin:
        gr.Markdown("## PolicyQA · 管理 / Admin")
        _documents_tab(documents)
        if feedback is not None:
            _feedback_tab(feedback, documents)
        _eval_tab(evals)
    blocks: gr.Blocks = admin
    return blocks


def _guarded(call: Callable[[], T]) -> T:
    """``call()``, with the domain's errors shown to the user as a Gradio error."""
    try:
        return call()
    except PolicyQAError as exc:
        raise gr.Error(str(exc)) from exc


def _documents_tab(documents: DocumentBackend) -> None:
    """Upload (with progress), list with metadata and status, re-ingest, delete."""

    def upload(
        files: list[str] | None,
        labels: str,
        collection: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects progress
    ) -> tuple[Any, Any, Any]:
        if not files:
            raise gr.Error("请选择文件 / choose files to upload")
        names = [x.strip() for x in labels.split(",") if x.strip()] or [PUBLIC_LABEL]
        report = _guarded(
            lambda: documents.upload(
                files,
                names,
                collection.strip() or DEFAULT_COLLECTION,
                lambda f, d: progress(f, desc=d),
            )
        )
        return report, documents.rows(), None

    def reingest(
        ids: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, Any]:
        report = _guarded(lambda: documents.reingest(_ids(ids), lambda f, d: progress(f, desc=d)))
        return report, documents.rows()

    def delete(ids: str) -> tuple[Any, Any]:
        removed = _guarded(lambda: documents.delete(_ids(ids)))
        gr.Info(f"已删除 {removed} 个文件 / removed {removed} documents")
        return [], documents.rows()

    with gr.Tab("文档 / Documents", elem_id="docs-tab"):
        with gr.Row():
            files = gr.File(
                file_count="multiple", label="上传文件 / Upload files", elem_id="doc-upload"
            )
            with gr.Column():
                labels = gr.Textbox(PUBLIC_LABEL, label="标签 / Labels (comma-separated)")
                collection = gr.Textbox(DEFAULT_COLLECTION, label="集合 / Collection")
                send = gr.Button(
                    "上传并入库 / Upload and index", variant="primary", elem_id="doc-send"
                )
        table = gr.Dataframe(
            value=documents.rows,  # called on every page load
            headers=DOCUMENT_HEADERS, label="文档 / Documents", elem_id="doc-table",
            interactive=False, wrap=True, column_widths=list(DOCUMENT_WIDTHS),
        )  # fmt: skip
        with gr.Row():
            ids = gr.Textbox(
                label="doc_id（逗号分隔） / doc ids (comma-separated)", elem_id="doc-ids"
            )
            again = gr.Button("重新入库 / Re-ingest", elem_id="doc-reingest")
            drop = gr.Button("删除 / Delete", variant="stop", elem_id="doc-delete")
        report = gr.Dataframe(
            headers=["source", "status", "chunks", "message"], label="结果 / Result",
            elem_id="doc-report", interactive=False, wrap=True,
        )  # fmt: skip
        send.click(
            upload, [files, labels, collection], [report, table, files], api_visibility="private"
        )
        again.click(reingest, [ids], [report, table], api_visibility="private")
        drop.click(delete, [ids], [report, table], api_visibility="private")


def _ids(text: str) -> list[str]:
    ids = [x.strip() for x in text.replace("\n", ",").split(",") if x.strip()]
    if not ids:
        raise gr.Error("请填写 doc_id / enter doc ids (the first column)")
    return ids


def _feedback_rows(feedback: FeedbackStore) -> list[list[object]]:
    return [
        [i.id, "👍" if i.rating > 0 else "👎", i.reason, i.question, i.answer,
         "; ".join(str(c.get("source", "")) for c in i.citations), i.status, i.principal]
        for i in feedback.items()
    ]  # fmt: skip


def _feedback_tab(feedback: FeedbackStore, documents: DocumentBackend) -> None:
    """Review ratings; reviewed items export as an eval set (a regression test)."""

    def verdict(
        status: FeedbackStatus, item: float | None, expected: str, gold: str, refuse: bool
    ) -> Any:
        if item is None:
            raise gr.Error("请填写反馈编号 / enter the feedback id (first column)")
        sources = [x.strip() for x in gold.split(",") if x.strip()]
        _guarded(lambda: feedback.review(int(item), status, expected, sources, refuse))
        return _feedback_rows(feedback)

    def reviewed(item: float | None, expected: str, gold: str, refuse: bool) -> Any:
        return verdict("reviewed", item, expected, gold, refuse)

    def dismissed(item: float | None, expected: str, gold: str, refuse: bool) -> Any:
        return verdict("dismissed", item, expected, gold, refuse)

    with gr.Tab("反馈 / Feedback", elem_id="feedback-tab"):
        table = gr.Dataframe(
            value=partial(_feedback_rows, feedback),  # called on every page load
            headers=FEEDBACK_HEADERS, label="反馈 / Feedback", elem_id="feedback-table",
            interactive=False, wrap=True,
        )  # fmt: skip
        with gr.Row():
            item = gr.Number(label="编号 / id", precision=0, elem_id="feedback-id")
            expected = gr.Textbox(
                label="正确答案应包含 / A correct answer contains", elem_id="feedback-expected"
            )
            gold = gr.Textbox(
                label="应引用的文件（source，可留空=原引用） / Gold sources (empty: as cited)",
                elem_id="feedback-gold",
            )
            refuse = gr.Checkbox(label="应拒答 / Should refuse")
        with gr.Row():
            ok = gr.Button(
                "标记已审核 / Mark reviewed", variant="primary", elem_id="feedback-review"
            )
            skip = gr.Button("忽略 / Dismiss")
            export = gr.Button("导出评测集 / Export eval set", elem_id="feedback-export")
        download = gr.File(
            label="评测集 / Eval set (queries.jsonl + corpus.jsonl)", elem_id="feedback-file"
        )
        fields = [item, expected, gold, refuse]
        ok.click(reviewed, fields, [table], api_visibility="private")
        skip.click(dismissed, fields, [table], api_visibility="private")
        export.click(
            lambda: _guarded(documents.export_feedback), None, [download], api_visibility="private"
        )


def _eval_tab(evals: EvalBackend) -> None:
    """Pick a set, run a sample of it with progress, browse metrics and questions."""

    def run(
        name: str,
        limit: float,
        max_docs: float,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects progress
    ) -> tuple[Any, Any]:
        if not name:
            raise gr.Error("选择一个评测集 / pick an eval set")
        return _guarded(
            lambda: evals.run(name, int(limit), int(max_docs), lambda f, d: progress(f, desc=d))
        )

    with gr.Tab("评测 / Evaluation", elem_id="eval-tab"):
        choices = evals.sets()
        if not choices:  # say where it looked and how to point it elsewhere, not an empty list
            gr.Markdown(
                NO_EVAL_SETS.format(where=html.escape(evals.where())), elem_id="eval-missing"
            )
        with gr.Row():
            name = gr.Dropdown(
                choices,
                value=choices[0] if choices else None,
                label="评测集 / Eval set",
                elem_id="eval-set",
            )
            limit = gr.Number(50, label="问题数 / Questions", minimum=1, maximum=5000, precision=0)
            max_docs = gr.Number(300, label="文档上限 / Max documents", minimum=1, precision=0)
            start = gr.Button(
                "运行 / Run", variant="primary", elem_id="eval-run", interactive=bool(choices)
            )
        metrics = gr.Dataframe(
            headers=["metric", "value"],
            label="指标 / Metrics",
            elem_id="eval-metrics",
            interactive=False,
        )
        questions = gr.Dataframe(
            headers=["id", "question", "reference", "answer", "result"],
            label="逐题结果 / Per question",
            elem_id="eval-questions",
            interactive=False,
            wrap=True,
        )
        start.click(run, [name, limit, max_docs], [metrics, questions], api_visibility="private")
