"""The HTTP API's door: API keys, request size, per-client rate and in-flight caps.

A flood must meet fast, cheap rejections (401/413/429/503 before any body is read or any model
runs), never a growing queue. It guards ``/api/`` and ``/v1/``; the UI has Gradio's own queue
(bounded in ``policyqa.server``).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GUARDED_PREFIXES = ("/api/", "/v1/")


@dataclass(frozen=True)
class GuardConfig:
    api_keys: tuple[str, ...] = ()  # empty: the API is open (e.g. behind an authenticating proxy)
    rate_per_minute: int = 60
    max_inflight: int = 8
    max_body_bytes: int = 64 * 1024


class RateLimiter:
    """A token bucket per client: ``rate_per_minute`` sustained, bursts of a sixth of that."""

    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = max(1.0, rate_per_minute / 6.0)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            if len(self._buckets) > 10_000:  # forget idle clients: bounded memory
                self._buckets = {
                    k: v for k, v in self._buckets.items() if now - v[1] < 60 / self._rate
                }
            tokens, last = self._buckets.get(client, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self._rate


class ApiGuard:
    """ASGI middleware in front of the whole app; only API paths are checked."""

    def __init__(self, app: ASGIApp, config: GuardConfig) -> None:
        self.app = app
        self.config = config
        self.limiter = RateLimiter(config.rate_per_minute)
        self._inflight = 0
        self._lock = threading.Lock()

    def _key_name(self, key: str) -> str | None:
        """The name of the configured key ``key`` is, compared in constant time; None when it
        is none of them."""
        found = None
        for name, secret in key_names(self.config.api_keys):
            if hmac.compare_digest(key.encode(), secret.encode()):
                found = name
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(GUARDED_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        openai = str(scope["path"]).startswith("/v1/")
        key = _presented_key(headers)
        principal = self._key_name(key)
        if self.config.api_keys and principal is None:
            await _reject(
                send, 401, "a valid API key is required (Authorization: Bearer KEY)", openai=openai
            )
            return
        if principal is not None:  # routes read it as request.state.principal
            scope.setdefault("state", {})["principal"] = principal
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > self.config.max_body_bytes:
            await _reject(
                send, 413, f"request body over {self.config.max_body_bytes} bytes", openai=openai
            )
            return
        client = key or (scope.get("client") or ("unknown", 0))[0]
        wait = self.limiter.allow(client)
        if wait:
            await _reject(send, 429, "too many requests", retry_after=wait, openai=openai)
            return
        with self._lock:
            busy = self._inflight >= self.config.max_inflight
            if not busy:
                self._inflight += 1
        if busy:
            await _reject(
                send, 503, "the server is busy: retry shortly", retry_after=1, openai=openai
            )
            return
        try:
            await self.app(scope, _limited(receive, self.config.max_body_bytes), send)
        finally:
            with self._lock:
                self._inflight -= 1


def key_names(entries: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, key) pairs: an entry "name:KEY" is named, a bare "KEY" is "key-N"."""
    pairs = []
    for i, entry in enumerate(entries, 1):
        name, sep, key = entry.partition(":")
        pairs.append((name, key) if sep and name and key else (f"key-{i}", entry))
    return pairs


def _presented_key(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("x-api-key", "").strip()


def _limited(receive: Receive, limit: int) -> Receive:
    """A chunked body (no Content-Length) is cut off at the limit too."""
    seen = 0

    async def wrapped() -> MutableMapping[str, Any]:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise ValueError("request body over the limit")
        return message

    return wrapped


def error_body(
    message: str, kind: str, *, openai: bool = False, param: str | None = None
) -> dict[str, dict[str, object]]:
    """The API's one error shape: ``{"error": {"message", "type"}}`` on /api, and OpenAI's
    (``param`` and ``code`` too) on /v1."""
    error: dict[str, object] = {"message": message, "type": kind}
    if openai:
        error |= {"param": param, "code": None}
    return {"error": error}


async def _reject(
    send: Send, status: int, message: str, retry_after: float = 0, *, openai: bool = False
) -> None:
    body = json.dumps(error_body(message, "request_rejected", openai=openai)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", str(max(1, round(retry_after))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
