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
from typing import Any, Literal

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from chatbot.render import answer_json, sources_text
from chatbot.service import AnswerService, Turn
from index_store.errors import InvalidQuestionError, PolicyQAError
from index_store.records import Answer

MODEL_ID = "policyqa"


class HistoryMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    question: str
    history: list[HistoryMessage] = Field(default_factory=list, max_length=50)
    filters: dict[str, list[str]] | None = None


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


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)


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
    if answer.citations and not answer.refused:
        text += "\n\n" + sources_text(answer)
    return text


def build_api(service: AnswerService) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "mode": service.mode}

    @router.post("/api/ask", response_model=None)
    def ask(req: AskRequest) -> dict[str, Any] | JSONResponse:
        history = [Turn(m.role, m.content) for m in req.history]
        try:
            return answer_json(service.ask(req.question, history, req.filters))
        except PolicyQAError as exc:
            return _error(400, str(exc))

    @router.get("/v1/models")
    def models() -> dict[str, Any]:
        model = {"id": MODEL_ID, "object": "model", "owned_by": "policyqa"}
        return {"object": "list", "data": [model]}

    @router.post("/v1/chat/completions", response_model=None)
    def chat_completions(
        req: ChatCompletionRequest,
    ) -> dict[str, Any] | StreamingResponse | JSONResponse:
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        try:
            question, history = _split_chat(req.messages)
            if req.stream:
                events = service.stream(question, history)
                first = next(events)  # validation errors surface before any byte is sent
                return StreamingResponse(
                    _sse(cid, created, first, events), media_type="text/event-stream"
                )
            answer = service.ask(question, history)
        except PolicyQAError as exc:
            return _error(400, str(exc))
        message = {"role": "assistant", "content": _completion_text(answer)}
        record = answer_json(answer)
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
    cid: str, created: int, first: str | Answer, events: Iterator[str | Answer]
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
    record = answer_json(answer)
    yield chunk({}, "stop", citations=record["citations"], policyqa=record)
    yield b"data: [DONE]\n\n"


def install_api(app: FastAPI, service: AnswerService) -> None:
    """Mount the routes; each answers its own errors with 4xx JSON."""
    app.include_router(build_api(service))
