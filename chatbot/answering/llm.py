"""The OpenAI-compatible chat endpoint (OpenAI, DeepSeek, Qwen, vLLM, Ollama, ...), through the
official ``openai`` package, with explicit timeouts, bounded retries and ``max_tokens``.

Any failure surfaces as :class:`LLMError`; the answer service then falls back to the extractive
answer. No tokenizer is loaded (model names are opaque strings here), so nothing is downloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

logger = logging.getLogger(__name__)

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class LLMConfig:
    model: str
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 30.0
    max_retries: int = 2
    max_tokens: int = 800
    temperature: float = 0.1


class LLMError(Exception):
    """The endpoint failed: ``kind`` is ``auth``, ``timeout``, ``rate_limit``, ``unavailable``,
    ``not_found``, ``bad_request`` or ``stream_broken``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class LLMClient:
    """Thin wrapper: messages in, text (or text deltas) out, errors translated."""

    def __init__(self, config: LLMConfig, client: Any | None = None) -> None:
        self.config = config
        if client is None:
            from openai import OpenAI

            client = OpenAI(
                # Local servers (vLLM, Ollama) take any key; the client insists on one.
                api_key=config.api_key or "not-needed",
                base_url=config.base_url or None,
                timeout=config.timeout_s,
                max_retries=config.max_retries,
            )
        self._client = client

    def _request(self, messages: Sequence[ChatMessage], stream: bool) -> Any:
        payload: list[Any] = [{"role": m.role, "content": m.content} for m in messages]
        return self._client.chat.completions.create(
            model=self.config.model,
            messages=payload,
            max_tokens=self.config.max_tokens,
            temperature=self.config.temperature,
            stream=stream,
        )

    def complete(self, messages: Sequence[ChatMessage]) -> str:
        try:
            response = self._request(messages, stream=False)
        except Exception as exc:
            raise _translate(exc) from exc
        return str(response.choices[0].message.content or "")

    def stream(self, messages: Sequence[ChatMessage]) -> Iterator[str]:
        """Text deltas. A stream that breaks after it started raises ``stream_broken``; it is
        not retried, so a half-billed answer is never silently paid for twice."""
        try:
            response = self._request(messages, stream=True)
        except Exception as exc:
            raise _translate(exc) from exc
        finished = False
        try:
            for chunk in response:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta and choice.delta.content:
                    yield str(choice.delta.content)
                finished = finished or choice.finish_reason is not None
        except Exception as exc:
            raise LLMError("stream_broken", f"the answer stream broke off: {exc}") from exc
        if not finished:
            # The connection closed before the server said the answer was complete.
            raise LLMError("stream_broken", "the answer stream ended without a finish reason")


def _translate(exc: Exception) -> LLMError:
    import openai

    kinds: list[tuple[type[Exception], str]] = [
        (openai.AuthenticationError, "auth"),
        (openai.PermissionDeniedError, "auth"),
        (openai.APITimeoutError, "timeout"),
        (openai.RateLimitError, "rate_limit"),
        (openai.NotFoundError, "not_found"),
        (openai.BadRequestError, "bad_request"),
        (openai.APIConnectionError, "unavailable"),
        (openai.APIStatusError, "unavailable"),
    ]
    for cls, kind in kinds:
        if isinstance(exc, cls):
            logger.warning("llm request failed kind=%s type=%s", kind, type(exc).__name__)
            return LLMError(kind, str(exc))
    if isinstance(exc, openai.OpenAIError):
        return LLMError("unavailable", str(exc))
    raise exc
