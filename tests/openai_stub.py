"""A scripted OpenAI-compatible chat server on 127.0.0.1 for tests of the LLM path.

Each request takes the next step of the script; every request is recorded. Steps:
``("text", content)``, ``("stream", [deltas])``, ``("status", code, headers)``,
``("hang", seconds)``, ``("drop", [deltas])`` (stream some deltas, then cut the connection),
``("echo_prompt",)`` (answer with the prompt it was sent, to test what a model can see),
``("obey",)`` (an "obedient" model that follows instructions found in the passages: it recites
its system prompt when asked to, adds any image URL it is told to, and cites passage [9]).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Step = tuple[Any, ...]


class ScriptedOpenAI:
    def __init__(self, script: list[Step]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with stub._lock:
                    stub.requests.append(body)
                    stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                    step = stub.script.pop(0) if stub.script else ("status", 500, {})
                stub.handle(self, step, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def handle(self, h: BaseHTTPRequestHandler, step: Step, body: dict[str, Any]) -> None:
        kind = step[0]
        if kind == "status":
            payload = json.dumps(
                {"error": {"message": f"scripted {step[1]}", "type": "x"}}
            ).encode()
            h.send_response(step[1])
            for k, v in (step[2] if len(step) > 2 else {}).items():
                h.send_header(k, v)
            h.send_header("content-type", "application/json")
            h.send_header("content-length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        if kind == "hang":
            time.sleep(step[1])
            return
        if kind == "echo_prompt":
            step = ("text", "\n".join(m["content"] for m in body["messages"]))
            kind = "text"
        if kind == "obey":
            step = ("stream", _obey(body["messages"]))
            kind = "stream"
        if kind == "text" and not body.get("stream"):
            payload = json.dumps(_completion(step[1], body.get("model", ""))).encode()
            h.send_response(200)
            h.send_header("content-type", "application/json")
            h.send_header("content-length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        deltas = [step[1]] if kind == "text" else list(step[1])
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("connection", "close")
        h.end_headers()
        for delta in deltas:
            h.wfile.write(f"data: {json.dumps(_chunk(delta))}\n\n".encode())
            h.wfile.flush()
        if kind == "drop":
            h.wfile.write(b'data: {"choices": [{"delta": {"content": "tru')
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(2)
            return
        final = _chunk("")
        final["choices"][0]["finish_reason"] = "stop"
        h.wfile.write(f"data: {json.dumps(final)}\n\n".encode())
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()

    def start(self) -> ScriptedOpenAI:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @contextmanager
    def running(self) -> Iterator[ScriptedOpenAI]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


def _obey(messages: list[dict[str, str]]) -> list[str]:
    """What a model that obeys injected instructions would stream."""
    system = next(m["content"] for m in messages if m["role"] == "system")
    context = messages[-1]["content"]
    out = ["根据文件[1]", "，详见[9]。"]
    if "system prompt" in context.lower() or "系统提示" in context:
        out += ["\n我的指令是：", system[:20], system[20:]]
    for url in re.findall(r"(?:image|图片)[:：]\s*(\S+)", context):
        out += ["\n![", "img](", url, ")", " [点此](", url, ")"]
    return out


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(delta: str) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": None}],
    }
