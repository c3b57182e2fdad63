"""The server: one FastAPI app holding the HTTP API and the Gradio UI, built once."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from index_store.errors import ConfigError
from index_store.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from chatbot.web.api_guard import GuardConfig

logger = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent / "demo_corpus"
# Ingested with the label "internal": only users granted it (and admins) can read it.
DEMO_INTERNAL_DIR = Path(__file__).resolve().parent / "demo_internal"
DEMO_EXAMPLES = [
    "稳岗返还的比例是多少？",
    "申请纾困支持需要提交哪些材料？",
    "首次认定为高新技术企业能拿到多少奖励？",
    "我们是一家示例市的小微企业，成立3年，做餐饮的，能申请贷款贴息吗？",
    "首次创业能拿到多少创业补贴？",
    "How long do I have to return an unused item?",
    "What is the first response time for severity 1 incidents?",
]


def create_app(settings: Settings, examples: list[str] | None = None) -> FastAPI:
    """FastAPI app with ``/api/ask``, ``/v1/chat/completions`` and the UI at ``/``."""
    # Telemetry off before gradio is imported: no traffic but to the configured LLM.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse

    from chatbot.ui.admin import build_admin_ui
    from chatbot.ui.chat import CSS, build_ui, theme
    from chatbot.web.api import install_api
    from chatbot.web.api_guard import ApiGuard
    from chatbot.web.auth import ThrottledLogin, parse_users
    from chatbot.web.doc_view import install_doc_view
    from policyqa.compose import build_chat_context, open_index

    if not settings.chroma_url:
        from index_store.probe import probe_index
        from index_store.store import REGISTRY_FILE

        index_dir = settings.index_dir.expanduser().resolve()
        if (index_dir / REGISTRY_FILE).exists():
            probe = probe_index(index_dir, settings.collection)
            if not probe.ok:
                logger.error("index unavailable dir=%s reason=%s", index_dir, probe.reason)
                return unavailable_app(probe.reason)
    admins = parse_users(settings.admin_users.get_secret_value()) if settings.admin_users else {}
    chatters = parse_users(settings.chat_users.get_secret_value()) if settings.chat_users else {}
    store = open_index(settings, create=False)
    ctx = build_chat_context(settings, store, frozenset(admins))
    store.keyword_index()  # build it now, not on the first question
    app = FastAPI(title="PolicyQA", docs_url=None, redoc_url=None)
    install_api(app, ctx)
    install_doc_view(app, ctx.service.library, ctx.links)
    app.add_middleware(ApiGuard, config=guard_config(settings))
    max_file_bytes = int(settings.max_file_mb * 2**20)
    common = {"css": CSS, "theme": theme(), "footer_links": [], "max_file_size": max_file_bytes}
    if admins:  # mounted before "/", which would otherwise catch /admin
        from policyqa.compose import build_ingestor
        from policyqa.evaluation import EvalRunner
        from policyqa.manage import DocumentManager

        manager = DocumentManager(
            build_ingestor(settings, store), ctx.service.library, ctx.feedback
        )
        admin = build_admin_ui(EvalRunner(settings), manager, ctx.feedback)
        admin.queue(max_size=settings.ui_queue_size, default_concurrency_limit=1)

        @app.get("/admin", include_in_schema=False)
        def admin_slash() -> RedirectResponse:
            return RedirectResponse("/admin/", status_code=308)

        gr.mount_gradio_app(app, admin, path="/admin", auth=ThrottledLogin(admins), **common)
    ui = build_ui(ctx, DEMO_EXAMPLES if examples is None else examples)
    ui.queue(max_size=settings.ui_queue_size, default_concurrency_limit=2)
    chat_auth = ThrottledLogin(chatters | admins) if chatters else None
    mounted: FastAPI = gr.mount_gradio_app(app, ui, path="/", auth=chat_auth, **common)
    return mounted


UNAVAILABLE_PAGE = """<!doctype html><meta charset="utf-8"><title>PolicyQA</title>
<h2>索引暂不可用 · The index is unavailable</h2><p>{reason}</p>
<p>管理员请运行 / Administrators: <code>policyqa index repair</code>
或恢复备份 / or restore a backup: <code>policyqa index restore BACKUP</code></p>"""


def unavailable_app(reason: str) -> FastAPI:
    """What the server offers while its index cannot be opened: a clear 503 everywhere."""
    import html

    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, JSONResponse

    app = FastAPI(title="PolicyQA", docs_url=None, redoc_url=None)
    body = {"status": "unavailable", "reason": reason, "fix": "policyqa index repair"}

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse(body, status_code=503)

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    def anything(path: str) -> HTMLResponse | JSONResponse:
        if path.startswith(("api/", "v1/")):
            message = f"the index is unavailable: {reason} (run `policyqa index repair`)"
            error = {"message": message, "type": "unavailable"}
            return JSONResponse({"error": error}, status_code=503)
        return HTMLResponse(UNAVAILABLE_PAGE.format(reason=html.escape(reason)), status_code=503)

    return app


def guard_config(settings: Settings) -> GuardConfig:
    from chatbot.web.api_guard import GuardConfig

    keys = settings.api_keys.get_secret_value() if settings.api_keys else ""
    return GuardConfig(
        api_keys=tuple(k.strip() for k in keys.split(",") if k.strip()),
        rate_per_minute=settings.rate_limit_per_minute,
        max_inflight=settings.max_inflight,
        max_body_bytes=settings.max_request_kb * 1024,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a one-line error when it cannot be had (the
    port is taken, or the address is not this machine's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(another server on that port? pass --port)"
        ) from exc
    return sock


def run(
    settings: Settings,
    host: str,
    port: int,
    examples: list[str] | None = None,
    banner: Callable[[], None] | None = None,
) -> None:
    """Serve until stopped. The port is taken first and the app built (index found, models
    loaded) before ``banner`` runs, so what it announces is already serving."""
    import uvicorn

    sock = bind(host, port)
    try:
        app = create_app(settings, examples)
        if banner is not None:
            app.router.on_startup.append(banner)
        logger.info("serving host=%s port=%d", host, port)
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    finally:
        sock.close()
