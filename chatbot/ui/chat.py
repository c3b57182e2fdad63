"""The Gradio chat UI, built by a factory; per-user state lives in session state only.

Callbacks parse input, call the answer service, and render. All document and model text is
escaped before it reaches the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from typing import Any

import gradio as gr

from chatbot.answering.questions import Turn
from chatbot.ui.render import (
    answer_json,
    basis_line,
    checklist_lines,
    safe_markdown,
    sources_html,
)
from chatbot.web.context import ChatContext
from index_store.errors import InvalidQuestionError, PolicyQAError
from index_store.policy import Scope
from index_store.records import Answer

# System fonts only, Latin first: with the default theme's web font the browser drew some
# letters of the title (the "A" of PolicyQA) from a fallback font.
FONTS = (
    "Noto Sans", "DejaVu Sans", "Segoe UI", "Helvetica Neue", "Arial", "Noto Sans CJK SC",
    "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", "sans-serif",
)  # fmt: skip
MONO_FONTS = ("DejaVu Sans Mono", "Consolas", "Menlo", "monospace")


def theme() -> gr.themes.Base:
    """The UI's theme: Gradio's default look with the system fonts above."""
    return gr.themes.Default(font=list(FONTS), font_mono=list(MONO_FONTS))


CSS = """
.pqa-sources h4 { margin: 0 0 .5em 0; }
.pqa-source {
  border: 1px solid #d0d7de; border-radius: 8px; padding: .6em .8em; margin-bottom: .6em;
}
.pqa-source-meta { color: #57606a; font-size: .8em; word-break: break-all; }
.pqa-source-text { margin: .4em 0 0 0; white-space: pre-wrap; }
.pqa-source-text mark { background: #fff3b0; }
.pqa-row { border-collapse: collapse; margin: .4em 0; font-size: .9em; }
.pqa-row th, .pqa-row td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; }
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
                filters = _filter_inputs(include_expired=not ctx.in_force_default)
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
        # The as-of hint is the day the page is opened, the default the search uses.
        ui.load(
            lambda: gr.Textbox(placeholder=service.library.today().isoformat()),
            None,
            filters[0],
            api_visibility="private",
        )
        gr.api(ask_api, api_name="ask")  # type: ignore[attr-defined]
    blocks: gr.Blocks = ui
    return blocks


def _filter_inputs(include_expired: bool) -> list[Any]:
    """As-of day, include-expired, region, issuer, document, publish date range."""
    with gr.Accordion("筛选 / Filters", open=False, elem_id="filters"):
        with gr.Row():
            as_of = gr.Textbox(
                label="截至日期（默认今天） / As of (default today)",
                elem_id="as-of",
            )
            expired = gr.Checkbox(
                include_expired,
                label="包含已失效政策 / Include expired policies",
                elem_id="include-expired",
            )
        with gr.Row():
            regions = gr.Dropdown([], multiselect=True, label="地区 / Region", elem_id="region")
            issuers = gr.Dropdown([], multiselect=True, label="发文机关 / Issuer", elem_id="issuer")
        docs = gr.Dropdown([], multiselect=True, label="文件 / Documents", elem_id="documents")
        with gr.Row():
            since = gr.Textbox(label="发布日期起 / Published from", placeholder="2025-01-01")
            until = gr.Textbox(label="发布日期止 / Published to", placeholder="2026-12-31")
    return [as_of, expired, regions, issuers, docs, since, until]
