"""The API's door over real HTTP: keys, body size, per-client rate, in-flight cap."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from chatbot.web.api_guard import RateLimiter
from index_store.settings import Settings
from index_store.store import IndexStore
from tests.ui.test_browser import free_port

Demo = tuple[IndexStore, Settings]
QUESTION = "稳岗返还的比例是多少？"


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    import uvicorn

    from policyqa.server import create_app

    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def call(url: str, body: bytes | None = None, **headers: str) -> tuple[int, dict[str, str], float]:
    started = time.monotonic()
    request = urllib.request.Request(
        url, data=body, headers={"content-type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status, dict(response.headers), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, dict(exc.headers), time.monotonic() - started


def raw_status(url: str, path: str, content_length: int) -> int:
    """Send only the headers of a large POST and read the status line."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {content_length}\r\n\r\n".encode()
        )
        return int(sock.recv(1024).split(b" ")[1])


def ask_body(question: str = QUESTION) -> bytes:
    return json.dumps({"question": question}).encode()


def test_api_keys_are_required_when_configured(demo_store: Demo) -> None:
    _, base = demo_store
    settings = base.model_copy(update={"api_keys": "key-one, key-two"})
    settings = Settings.model_validate(settings.model_dump())  # SecretStr from the string
    with serving(settings) as url:
        assert call(f"{url}/api/ask", ask_body())[0] == 401
        assert call(f"{url}/api/ask", ask_body(), Authorization="Bearer wrong")[0] == 401
        assert call(f"{url}/v1/models")[0] == 401
        assert call(f"{url}/api/ask", ask_body(), Authorization="Bearer key-two")[0] == 200
        assert call(f"{url}/api/ask", ask_body(), **{"X-API-Key": "key-one"})[0] == 200
        assert call(f"{url}/healthz")[0] == 200  # probes stay open


def test_oversized_and_malformed_questions_are_rejected_fast(demo_store: Demo) -> None:
    _, settings = demo_store
    with serving(settings) as url:
        # A 1 MB question: the answer (413) comes from the headers alone, before the body.
        started = time.monotonic()
        assert raw_status(url, "/api/ask", content_length=len(ask_body("补贴" * 170_000))) == 413
        assert time.monotonic() - started < 1
        assert call(f"{url}/api/ask", ask_body("   "))[0] == 400
        assert call(f"{url}/api/ask", ask_body("\x00\x01\x02\x1b"))[0] == 400
        assert call(f"{url}/api/ask", b"{not json")[0] == 400


def test_a_client_over_its_rate_gets_429_with_retry_after(demo_store: Demo) -> None:
    _, base = demo_store
    with serving(base.model_copy(update={"rate_limit_per_minute": 12})) as url:  # burst of 2
        statuses = [call(f"{url}/api/ask", ask_body()) for _ in range(3)]
        assert [s for s, _, _ in statuses] == [200, 200, 429]
        assert int(statuses[2][1]["retry-after"]) >= 1


def test_a_flood_gets_fast_rejections_not_a_queue(demo_store: Demo) -> None:
    _, base = demo_store
    settings = base.model_copy(update={"max_inflight": 2, "rate_limit_per_minute": 100_000})
    with serving(settings) as url, ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(lambda _: call(f"{url}/api/ask", ask_body()), range(40)))
    ok = [r for r in results if r[0] == 200]
    busy = [r for r in results if r[0] == 503]
    assert len(ok) + len(busy) == 40 and len(ok) >= 2 and len(busy) >= 10
    assert max(seconds for _, _, seconds in busy) < 1.0


@pytest.mark.parametrize(
    ("rate", "calls_at", "allowed"),
    [
        # 60/min = 1 token/s, burst 10: ten at once pass, the eleventh waits a second.
        (60, [0.0] * 11, [True] * 10 + [False]),
        (60, [0.0] * 10 + [1.0], [True] * 11),
        # 6/min = 0.1 token/s, burst 1: the next call passes after 10 s, not 5 s.
        (6, [0.0, 5.0, 10.0], [True, False, True]),
    ],
)
def test_rate_limiter_buckets(rate: int, calls_at: list[float], allowed: list[bool]) -> None:
    now = [0.0]
    limiter = RateLimiter(rate, clock=lambda: now[0])
    got = []
    for t in calls_at:
        now[0] = t
        got.append(limiter.allow("client") == 0)
    assert got == allowed
    assert limiter.allow("another-client") == 0  # buckets are per client


def test_the_chat_can_require_a_login(demo_store: Demo) -> None:
    from tests.ui.test_browser import login

    _, base = demo_store
    settings = Settings.model_validate(base.model_dump() | {"chat_users": "alice:wonder-land-42"})
    with serving(settings) as url:
        assert call(f"{url}/config")[0] == 401  # the chat app's config needs a login
        assert login(f"{url}/login", "alice", "wonder-land-42") == 200
        assert login(f"{url}/login", "alice", "nope") == 400
    with serving(base) as url:  # without chat users the chat is public
        assert call(f"{url}/config")[0] == 200
