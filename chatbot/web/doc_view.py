"""The document view a citation opens: the whole document, the quoted span highlighted and
scrolled into view.

Links are signed: a citation link is minted only for a reader who was allowed to see that
document, so the link itself is the permission (it expires after ``ttl_s``). That holds for the
chat UI, the HTTP API and the OpenAI-compatible endpoint alike, whatever login each one uses.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import time
from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from chatbot.answering.documents import Library

DOC_PATH = "/doc"
_PAGE = """<!doctype html><html lang="{lang}"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 16px/1.7 system-ui, sans-serif; max-width: 52em; margin: 2em auto; padding: 0 1em; }}
.meta {{ color: #57606a; font-size: .9em; }}
pre {{ white-space: pre-wrap; font: inherit; }}
mark {{ background: #fff3b0; scroll-margin-top: 40vh; }}
header {{ border-bottom: 1px solid #d0d7de; padding-bottom: .5em; }}
header a {{ color: #0969da; text-decoration: none; }}
</style>
<header><a href="/" id="back">{back}</a> · <b>PolicyQA</b></header>
<h2>{title}</h2><p class="meta">{policy}</p>
<pre id="document">{body}</pre></html>"""


class DocLinks:
    """Mints and checks signed document-view links."""

    def __init__(
        self,
        secret: bytes | None = None,
        ttl_s: int = 8 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.ttl_s = ttl_s
        self._clock = clock

    def _sign(self, doc_id: str, expires: int) -> str:
        message = f"{doc_id}|{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def url(self, doc_id: str, start: int, end: int) -> str:
        expires = int(self._clock()) + self.ttl_s
        sig = self._sign(doc_id, expires)
        return f"{DOC_PATH}/{quote(doc_id)}?start={start}&end={end}&exp={expires}&sig={sig}#quote"

    def valid(self, doc_id: str, expires: int, sig: str) -> bool:
        fresh = expires >= self._clock()
        return fresh and hmac.compare_digest(self._sign(doc_id, expires), sig)


def render_document(title: str, policy: str, text: str, start: int, end: int, language: str) -> str:
    """The page: escaped text, ``[start, end)`` in ``<mark id="quote">`` (clamped)."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    body = (
        html.escape(text[:start])
        + f'<mark id="quote">{html.escape(text[start:end])}</mark>'
        + html.escape(text[end:])
    )
    back = "← 返回问答" if language == "zh" else "← Back to the chat"
    return _PAGE.format(
        lang=language, title=html.escape(title), policy=html.escape(policy), body=body, back=back
    )


def install_doc_view(app: FastAPI, library: Library, links: DocLinks) -> None:
    @app.get(DOC_PATH + "/{doc_id}")
    def document(
        doc_id: str, start: int = 0, end: int = 0, exp: int = 0, sig: str = ""
    ) -> HTMLResponse:
        if not links.valid(doc_id, exp, sig):
            message = (
                "链接无效或已过期，请从回答的引用重新打开。 The link is invalid or has "
                "expired: open it again from an answer's citation."
            )
            return HTMLResponse(html.escape(message), status_code=403)
        record = library.records().get(doc_id)
        text = library.store.document_text(doc_id)
        if record is None or text is None:
            message = "该文件已不在索引中。 This document is no longer in the index."
            return HTMLResponse(html.escape(message), status_code=404)
        language = "en" if record.title.isascii() else "zh"
        policy = library.policy_line(record, language)
        page = render_document(record.title, policy, text, start, end, language)
        return HTMLResponse(page, headers={"Cache-Control": "private, no-store"})
