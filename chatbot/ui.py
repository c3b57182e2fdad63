"""The Gradio chat UI, built by a factory; per-user state lives in session state only.

Callbacks parse input, call the answer service, and render. All document and model text is
escaped before it reaches the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from typing import Any, Protocol

import gradio as gr

from chatbot.context import ChatContext
from chatbot.feedback import FeedbackStatus, FeedbackStore
from chatbot.render import (
    answer_json,
    basis_line,
    checklist_lines,
    safe_markdown,
    sources_html,
)
from chatbot.service import Turn
from index_store.errors import InvalidQuestionError, PolicyQAError
from index_store.policy import Scope
from index_store.records import Answer

CSS = """
.pqa-sources h4 { margin: 0 0 .5em 0; }
.pqa-source {
  border: 1px solid #d0d7de; border-radius: 8px; padding: .6em .8em; margin-bottom: .6em;
}
.pqa-source-meta { color: #57606a; font-size: .8em; word-break: break-all; }
.pqa-source-text { margin: .4em 0 0 0; white-space: pre-wrap; }
.pqa-source-text mark { background: #fff3b0; }
"""

PLACEHOLDER = "例如：稳岗返还的比例是多少？ / e.g. How long is the warranty?"
MODE_TEXT = {
    "extractive": "模式：摘录式回答（未配置大模型，答案直接摘自文件） · Mode: extractive "
    "(no LLM configured; answers are quoted from the documents)",
    "llm": "模式：大模型生成，附引用 · Mode: LLM answers with citations",
}


def chat_markdown(answer: Answer) -> str:
    """The answer as shown in the chat bubble: inert text (see ``safe_markdown``), the notice
    above it; the eligibility checklist, the policies it rests on and warnings below."""
    parts = []
    if answer.notice:
        parts.append(f"*{safe_markdown(answer.notice)}*")
    parts.append(safe_markdown(answer.answer).replace("\n", "  \n"))
    checklist = checklist_lines(answer)
    if checklist:
        items = "\n".join(f"- {safe_markdown(line)}" for line in checklist[1:])
        parts.append(f"**{safe_markdown(checklist[0])}**\n\n{items}")
    if answer.basis:
        parts.append(f"*{safe_markdown(basis_line(answer))}*")
    parts.extend(f"⚠ {safe_markdown(w)}" for w in answer.warnings)
    return "\n\n".join(parts)


def parse_day(text: str, what: str) -> date | None:
    """``YYYY-MM-DD`` or empty; anything else is a clear error."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidQuestionError(f"{what}: {text!r} is not a date like 2026-03-01") from exc


class EvalBackend(Protocol):
    """What the Evaluation tab needs (``eval.app_runner.EvalRunner`` provides it)."""

    def sets(self) -> list[str]: ...

    def run(
        self, name: str, limit: int, max_docs: int, progress: Callable[[float, str], None]
    ) -> tuple[list[list[object]], list[list[object]]]: ...


def _user(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None


def _scope(ctx: ChatContext, request: gr.Request | None, values: list[Any]) -> Scope:
    as_of, expired, regions, issuers, docs, since, until = values
    return ctx.scope_for(
        _user(request),
        as_of=parse_day(as_of, "截至日期 / as of"),
        in_force_only=not expired,
        regions=tuple(regions or ()),
        issuers=tuple(issuers or ()),
        doc_ids=tuple(docs or ()),
        published_from=parse_day(since, "发布日期起 / published from"),
        published_to=parse_day(until, "发布日期止 / published to"),
    )


def _filter_choices(ctx: ChatContext, request: gr.Request) -> tuple[Any, Any, Any]:
    """Region, issuer and document choices among the documents this user may read."""
    records = ctx.service.library.visible(ctx.access.labels_for(_user(request)))
    regions = sorted({r.info.region for r in records if r.info.region})
    issuers = sorted({r.info.issuer for r in records if r.info.issuer})
    docs = sorted((r.title, r.doc_id) for r in records)
    return gr.update(choices=regions), gr.update(choices=issuers), gr.update(choices=docs)


def build_ui(ctx: ChatContext, examples: list[str]) -> gr.Blocks:
    """The chat page: conversation with feedback, question box, filters, sources panel."""
    service = ctx.service

    def respond(
        message: str,
        chat: list[dict[str, Any]],
        turns: list[dict[str, str]],
        answers: dict[int, dict[str, Any]],
        as_of: str,
        expired: bool,
        regions: list[str] | None,
        issuers: list[str] | None,
        docs: list[str] | None,
        since: str,
        until: str,
        request: gr.Request,  # Gradio fills it in by this annotation
    ) -> Iterator[tuple[Any, ...]]:
        history = [Turn(t["role"], t["content"]) for t in turns]  # type: ignore[arg-type]
        filters = [as_of, expired, regions, issuers, docs, since, until]
        try:
            events = service.stream(message, history, _scope(ctx, request, filters))
            first = next(events)
        except PolicyQAError as exc:
            raise gr.Error(str(exc)) from exc
        chat = [
            *chat,
            {"role": "user", "content": safe_markdown(message)},
            {"role": "assistant", "content": ""},
        ]
        text = ""
        answer: Answer | None = None
        for event in itertools.chain([first], events):
            if isinstance(event, Answer):
                answer = event
                break
            text += event
            chat[-1] = {"role": "assistant", "content": safe_markdown(text)}
            yield "", chat, gr.skip(), turns, answers
        assert answer is not None
        chat[-1] = {"role": "assistant", "content": chat_markdown(answer)}
        turns = [
            *turns,
            {"role": "user", "content": message},
            {"role": "assistant", "content": answer.answer},
        ]
        answers = {**answers, len(chat) - 1: answer_json(answer)}
        yield "", chat, sources_html(answer, ctx.links), turns, answers

    def rate(
        answers: dict[int, dict[str, Any]], data: gr.LikeData, request: gr.Request
    ) -> tuple[Any, Any]:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        answer = answers.get(int(index)) or answers.get(str(index))  # type: ignore[call-overload]
        if ctx.feedback is None or answer is None or data.liked not in (True, False):
            return gr.skip(), gr.skip()
        item = ctx.feedback.add(answer, 1 if data.liked else -1, ctx.config, _user(request) or "")
        return item, gr.update(visible=True, value="")

    def explain(item: int | None, reason: str) -> Any:
        if ctx.feedback is None or item is None or not reason.strip():
            return gr.skip()
        ctx.feedback.set_reason(int(item), reason)
        gr.Info("已记录，谢谢！ Thank you, noted.")
        return gr.update(visible=False, value="")

    def choices(request: gr.Request) -> tuple[Any, Any, Any]:
        return _filter_choices(ctx, request)

    def ask_api(question: str) -> dict[str, Any]:
        try:
            return answer_json(service.ask(question, (), ctx.scope_for(None)), ctx.links)
        except PolicyQAError as exc:
            raise gr.Error(str(exc)) from exc

    with gr.Blocks(title="PolicyQA", analytics_enabled=False) as ui:
        gr.Markdown("## PolicyQA · 政策问答")
        gr.Markdown(MODE_TEXT[service.mode], elem_id="mode")
        turns = gr.State([])
        answers = gr.State({})
        feedback_item = gr.State(None)
        with gr.Tab("问答 / Chat", elem_id="chat-tab"), gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="对话 / Chat",
                    height=460,
                    elem_id="chat",
                    feedback_options=("Like", "Dislike") if ctx.feedback else None,
                )
                reason = gr.Textbox(
                    label="反馈原因（可选，回车提交） / Why? (optional, Enter to send)",
                    elem_id="feedback-reason",
                    visible=False,
                )
                box = gr.Textbox(
                    label="问题 / Question", elem_id="question", placeholder=PLACEHOLDER
                )
                with gr.Row():
                    send = gr.Button("提问 / Ask", variant="primary", elem_id="ask")
                    clear = gr.Button("清空 / Clear")
                filters = _filter_inputs()
                if examples:
                    gr.Examples(examples, inputs=box, label="示例问题 / Examples")
            with gr.Column(scale=2):
                sources = gr.HTML(
                    label="来源 / Sources",
                    elem_id="sources",
                    value="<div class='pqa-sources'></div>",
                )
        inputs = [box, chat, turns, answers, *filters]
        outputs = [box, chat, sources, turns, answers]
        box.submit(respond, inputs, outputs, api_visibility="private")
        send.click(respond, inputs, outputs, api_visibility="private")
        clear.click(lambda: ("", [], "", [], {}), None, outputs, api_visibility="private")
        chat.like(rate, [answers], [feedback_item, reason], api_visibility="private")
        reason.submit(explain, [feedback_item, reason], [reason], api_visibility="private")
        ui.load(choices, None, filters[2:5], api_visibility="private")
        gr.api(ask_api, api_name="ask")  # type: ignore[attr-defined]
    blocks: gr.Blocks = ui
    return blocks


def _filter_inputs() -> list[Any]:
    """As-of day, include-expired, region, issuer, document, publish date range."""
    with gr.Accordion("筛选 / Filters", open=False, elem_id="filters"):
        with gr.Row():
            as_of = gr.Textbox(
                label="截至日期（默认今天） / As of (default today)",
                placeholder="2026-03-01",
                elem_id="as-of",
            )
            expired = gr.Checkbox(
                label="包含已失效政策 / Include expired policies", elem_id="include-expired"
            )
        with gr.Row():
            regions = gr.Dropdown([], multiselect=True, label="地区 / Region", elem_id="region")
            issuers = gr.Dropdown([], multiselect=True, label="发文机关 / Issuer", elem_id="issuer")
        docs = gr.Dropdown([], multiselect=True, label="文件 / Documents", elem_id="documents")
        with gr.Row():
            since = gr.Textbox(label="发布日期起 / Published from", placeholder="2025-01-01")
            until = gr.Textbox(label="发布日期止 / Published to", placeholder="2026-12-31")
    return [as_of, expired, regions, issuers, docs, since, until]


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


def _guarded(call: Callable[[], Any]) -> Any:
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
        names = [x.strip() for x in labels.split(",") if x.strip()] or ["public"]
        report = _guarded(
            lambda: documents.upload(
                files, names, collection.strip() or "default", lambda f, d: progress(f, desc=d)
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
                labels = gr.Textbox("public", label="标签 / Labels (comma-separated)")
                collection = gr.Textbox("default", label="集合 / Collection")
                send = gr.Button(
                    "上传并入库 / Upload and index", variant="primary", elem_id="doc-send"
                )
        table = gr.Dataframe(
            value=documents.rows,  # called on every page load
            headers=DOCUMENT_HEADERS, label="文档 / Documents", elem_id="doc-table",
            interactive=False, wrap=True,
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
        try:
            return evals.run(name, int(limit), int(max_docs), lambda f, d: progress(f, desc=d))
        except PolicyQAError as exc:
            raise gr.Error(str(exc)) from exc

    with gr.Tab("评测 / Evaluation", elem_id="eval-tab"):
        choices = evals.sets()
        with gr.Row():
            name = gr.Dropdown(
                choices,
                value=choices[0] if choices else None,
                label="评测集 / Eval set",
                elem_id="eval-set",
            )
            limit = gr.Number(50, label="问题数 / Questions", minimum=1, maximum=5000, precision=0)
            max_docs = gr.Number(300, label="文档上限 / Max documents", minimum=1, precision=0)
            start = gr.Button("运行 / Run", variant="primary", elem_id="eval-run")
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
