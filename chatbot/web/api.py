"""HTTP API: ``POST /api/ask`` (the Answer JSON) and an OpenAI-compatible
``POST /v1/chat/completions`` (streaming and not), so existing chat clients can talk to PolicyQA.

Routes parse the request, call the answer service, and render; errors become 4xx JSON.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from chatbot.answering.questions import Turn
from chatbot.ui.render import answer_json, basis_line, checklist_lines, sources_text
from chatbot.web.api_guard import error_body
from chatbot.web.context import ChatContext
from index_store.errors import InvalidQuestionError, PolicyQAError
from index_store.policy import Scope
from index_store.records import Answer

MODEL_ID = "policyqa"


class HistoryMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    question: str
    history: list[HistoryMessage] = Field(default_factory=list, max_length=50)
    # Which documents count: policies in force on ``as_of`` (default today) unless
    # ``include_expired``; then the narrowing filters (empty = no restriction).
    as_of: date | None = None
    include_expired: bool | None = None  # None: POLICYQA_IN_FORCE_ONLY decides
    regions: list[str] = Field(default_factory=list, max_length=50)
    issuers: list[str] = Field(default_factory=list, max_length=50)
    published_from: date | None = None
    published_to: date | None = None
    doc_ids: list[str] = Field(default_factory=list, max_length=500)
    filters: dict[str, list[str]] | None = None  # older form: {"doc_id": [...], "source": [...]}

    def scope(self, ctx: ChatContext, principal: str | None) -> Scope:
        filters = self.filters or {}
        unknown = set(filters) - {"doc_id", "source"}
        if unknown:
            raise InvalidQuestionError(f"cannot filter on {sorted(unknown)}: use doc_id or source")
        lifecycle = (
            {} if self.include_expired is None else {"in_force_only": not self.include_expired}
        )
        return ctx.scope_for(
            principal,
            **lifecycle,
            as_of=self.as_of,
            regions=tuple(self.regions),
            issuers=tuple(self.issuers),
            published_from=self.published_from,
            published_to=self.published_to,
            doc_ids=tuple(self.doc_ids) + tuple(filters.get("doc_id", [])),
            sources=tuple(filters.get("source", [])),
        )


class FeedbackRequest(BaseModel):
    answer: dict[str, Any]  # the answer as /api/ask returned it
    rating: Literal[1, -1]
    reason: str = Field(default="", max_length=2000)


class ChatMessageIn(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    model: str = MODEL_ID
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=100)
    stream: bool = False


def _error(
    status: int, message: str, kind: str = "invalid_request_error", *, openai: bool = False,
    param: str | None = None,
) -> JSONResponse:  # fmt: skip
    """An error in the API's one shape (``api_guard.error_body``)."""
    return JSONResponse(error_body(message, kind, openai=openai, param=param), status_code=status)


def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """Malformed JSON and wrong field types: a 400 in the endpoint's own error shape, not
    FastAPI's 422 ``{"detail": [...]}``."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
    what = str(first.get("msg", "invalid request body"))
    message = f"{where}: {what}" if where else what
    return _error(400, message, openai=request.url.path.startswith("/v1/"), param=where)


def _split_chat(messages: list[ChatMessageIn]) -> tuple[str, list[Turn]]:
    """The last user message is the question; earlier user/assistant messages the history."""
    user_indexes = [i for i, m in enumerate(messages) if m.role == "user"]
    if not user_indexes:
        raise InvalidQuestionError("no user message in the conversation")
    last = user_indexes[-1]
    history = [
        Turn("user" if m.role == "user" else "assistant", m.text())
        for m in messages[:last]
        if m.role in ("user", "assistant")
    ]
    return messages[last].text(), history


def _completion_text(answer: Answer) -> str:
    text = answer.answer
    if answer.notice:
        text = f"({answer.notice})\n\n{text}"
    extra = ["\n".join(checklist_lines(answer)), basis_line(answer), *answer.warnings]
    text += "".join(f"\n\n{part}" for part in extra if part)
    if answer.citations and not answer.refused:
        text += "\n\n" + sources_text(answer)
    return text


def _principal(request: Request) -> str | None:
    return getattr(request.state, "principal", None)


def build_api(ctx: ChatContext) -> APIRouter:
    router = APIRouter()
    # The model "was created" when this server started: OpenAI's schema wants an integer.
    started = int(time.time())
    service = ctx.service

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "mode": service.mode}

    @router.post("/api/ask", response_model=None)
    def ask(req: AskRequest, request: Request) -> dict[str, Any] | JSONResponse:
        history = [Turn(m.role, m.content) for m in req.history]
        try:
            scope = req.scope(ctx, _principal(request))
            return answer_json(service.ask(req.question, history, scope), ctx.links)
        except PolicyQAError as exc:
            return _error(400, str(exc))

    @router.post("/api/feedback", response_model=None)
    def feedback(req: FeedbackRequest, request: Request) -> dict[str, Any] | JSONResponse:
        if ctx.feedback is None:
            return _error(404, "feedback is not enabled on this server", "not_found")
        missing = {"question", "answer", "refused", "citations"} - set(req.answer)
        if missing:
            return _error(400, f"answer lacks {sorted(missing)}: send it as /api/ask returned it")
        principal = _principal(request) or ""
        item = ctx.feedback.add(req.answer, req.rating, ctx.config, principal, req.reason)
        return {"id": item}

    @router.get("/v1/models")
    def models() -> dict[str, Any]:
        model = {"id": MODEL_ID, "object": "model", "created": started, "owned_by": "policyqa"}
        return {"object": "list", "data": [model]}

    @router.post("/v1/chat/completions", response_model=None)
    def chat_completions(
        req: ChatCompletionRequest, request: Request
    ) -> dict[str, Any] | StreamingResponse | JSONResponse:
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        try:
            question, history = _split_chat(req.messages)
            scope = ctx.scope_for(_principal(request))
            if req.stream:
                events = service.stream(question, history, scope)
                first = next(events)  # validation errors surface before any byte is sent
                return StreamingResponse(
                    _sse(cid, created, first, events, ctx), media_type="text/event-stream"
                )
            answer = service.ask(question, history, scope)
        except PolicyQAError as exc:
            return _error(400, str(exc), openai=True, param="messages")
        message = {"role": "assistant", "content": _completion_text(answer)}
        record = answer_json(answer, ctx.links)
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": record["citations"],
            "policyqa": record,
        }

    return router


def _sse(
    cid: str, created: int, first: str | Answer, events: Iterator[str | Answer], ctx: ChatContext
) -> Iterator[bytes]:
    """OpenAI chunk events: the answer's deltas, then (when the final answer differs from what
    was streamed, e.g. after an LLM fallback) the rest, then the numbered sources, then a final
    chunk carrying the structured citations."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    streamed = ""
    answer: Answer | None = None
    for event in itertools.chain([first], events):
        if isinstance(event, Answer):
            answer = event
            break
        streamed += event
        yield chunk({"content": event})
    assert answer is not None  # the service's stream always ends with the Answer
    full = _completion_text(answer)
    # When what streamed was superseded (an LLM fallback), the final text follows a break.
    rest = full[len(streamed) :] if full.startswith(streamed) else "\n\n" + full
    if rest:
        yield chunk({"content": rest})
    record = answer_json(answer, ctx.links)
    yield chunk({}, "stop", citations=record["citations"], policyqa=record)
    yield b"data: [DONE]\n\n"


def install_api(app: FastAPI, ctx: ChatContext) -> None:
    """Mount the routes; each answers its own errors with 4xx JSON."""
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.include_router(build_api(ctx))
