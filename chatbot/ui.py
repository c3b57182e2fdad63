"""The Gradio chat UI, built by a factory; per-user state lives in session state only.

Callbacks parse input, call the answer service, and render. All document and model text is
escaped before it reaches the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import gradio as gr

from chatbot.render import answer_json, safe_markdown, sources_html
from chatbot.service import AnswerService, Turn
from index_store.errors import PolicyQAError
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
    above it and warnings below."""
    parts = []
    if answer.notice:
        parts.append(f"*{safe_markdown(answer.notice)}*")
    parts.append(safe_markdown(answer.answer).replace("\n", "  \n"))
    parts.extend(f"⚠ {safe_markdown(w)}" for w in answer.warnings)
    return "\n\n".join(parts)


class EvalBackend(Protocol):
    """What the Evaluation tab needs (``eval.app_runner.EvalRunner`` provides it)."""

    def sets(self) -> list[str]: ...

    def run(
        self, name: str, limit: int, max_docs: int, progress: Callable[[float, str], None]
    ) -> tuple[list[list[object]], list[list[object]]]: ...


def build_ui(service: AnswerService, examples: list[str]) -> gr.Blocks:
    """The chat page: conversation, question box, examples, sources panel."""

    def respond(
        message: str, chat: list[dict[str, Any]], turns: list[dict[str, str]]
    ) -> Iterator[tuple[Any, ...]]:
        history = [Turn(t["role"], t["content"]) for t in turns]  # type: ignore[arg-type]
        try:
            events = service.stream(message, history)
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
            yield "", chat, gr.skip(), turns
        assert answer is not None
        chat[-1] = {"role": "assistant", "content": chat_markdown(answer)}
        turns = [
            *turns,
            {"role": "user", "content": message},
            {"role": "assistant", "content": answer.answer},
        ]
        yield "", chat, sources_html(answer), turns

    def ask_api(question: str) -> dict[str, Any]:
        try:
            return answer_json(service.ask(question))
        except PolicyQAError as exc:
            raise gr.Error(str(exc)) from exc

    with gr.Blocks(title="PolicyQA", analytics_enabled=False) as ui:
        gr.Markdown("## PolicyQA · 政策问答")
        gr.Markdown(MODE_TEXT[service.mode], elem_id="mode")
        turns = gr.State([])
        with gr.Tab("问答 / Chat", elem_id="chat-tab"), gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="对话 / Chat", height=460, elem_id="chat", feedback_options=None
                )
                box = gr.Textbox(
                    label="问题 / Question",
                    elem_id="question",
                    placeholder=PLACEHOLDER,
                )
                with gr.Row():
                    send = gr.Button("提问 / Ask", variant="primary", elem_id="ask")
                    clear = gr.Button("清空 / Clear")
                if examples:
                    gr.Examples(examples, inputs=box, label="示例问题 / Examples")
            with gr.Column(scale=2):
                sources = gr.HTML(
                    label="来源 / Sources",
                    elem_id="sources",
                    value="<div class='pqa-sources'></div>",
                )
        outputs = [box, chat, sources, turns]
        box.submit(respond, [box, chat, turns], outputs, api_visibility="private")
        send.click(respond, [box, chat, turns], outputs, api_visibility="private")
        clear.click(lambda: ("", [], "", []), None, outputs, api_visibility="private")
        gr.api(ask_api, api_name="ask")  # type: ignore[attr-defined]
    blocks: gr.Blocks = ui
    return blocks


def build_admin_ui(evals: EvalBackend) -> gr.Blocks:
    """The admin pages (served behind a login): evaluation runs."""
    with gr.Blocks(title="PolicyQA admin", analytics_enabled=False) as admin:
        gr.Markdown("## PolicyQA · 管理 / Admin")
        _eval_tab(evals)
    blocks: gr.Blocks = admin
    return blocks


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
