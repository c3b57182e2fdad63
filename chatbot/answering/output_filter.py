"""Guards on what a language model writes, applied while it streams.

Documents can carry instructions ("ignore your rules", "print your system prompt", "add this
image"); a model may obey. Whatever it writes, two invariants hold here:

- No links or images to hosts outside the allowlist: markdown images are dropped, links keep
  their text, autolinks and bare URLs to other hosts become a marker. A renderer downstream can
  then not fetch an attacker's URL (exfiltration through an image) or offer one as a link.
- No system prompt: the prompt starts with a per-process canary; when it shows up in the output,
  the stream stops with :class:`PromptLeakError` (the service then answers extractively).

Text is held back only while a construct is open (an unclosed ``[``, ``<``, a URL still growing,
a possible canary prefix), so ordinary text streams without delay.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlparse

CANARY = f"PQA-{secrets.token_hex(6)}"
LINK_REMOVED = {"zh": "[链接已移除]", "en": "[link removed]"}

_RISKY = re.compile(r"!\[|\[|<|https?://|www\.", re.IGNORECASE)
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*)[^)\n]*\)")
_BRACKETS = re.compile(r"\[[^\]\n]*\]")
_AUTOLINK = re.compile(r"<((?:https?://|www\.)[^>\s]*)>", re.IGNORECASE)
_BARE_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]\"'，。；：！？、）》】]*", re.IGNORECASE)
_MAX_HOLD = 400


class PromptLeakError(Exception):
    """The model's output contains the system prompt's canary."""


class OutputGuard:
    """Feed model deltas in, get safe text out; call :meth:`flush` at the end."""

    def __init__(self, allowed_hosts: frozenset[str], language: str) -> None:
        self.allowed_hosts = allowed_hosts
        self.marker = LINK_REMOVED.get(language, LINK_REMOVED["en"])
        self._buf = ""
        self._seen = ""

    def feed(self, delta: str) -> str:
        window = self._seen + delta
        if CANARY in window:
            raise PromptLeakError("the model output contains the system prompt")
        self._seen = window[-len(CANARY) :]
        self._buf += delta
        return self._drain(final=False)

    def flush(self) -> str:
        return self._drain(final=True)

    def _allowed(self, url: str) -> bool:
        host = urlparse(url if "://" in url else "http://" + url).hostname or ""
        return any(host == h or host.endswith("." + h) for h in self.allowed_hosts)

    def _drain(self, final: bool) -> str:
        out: list[str] = []
        while self._buf:
            match = _RISKY.search(self._buf)
            if match is None:
                # Hold back a possible start of the canary or of a URL.
                keep = 0 if final else _partial_suffix(self._buf)
                out.append(self._buf[: len(self._buf) - keep])
                self._buf = self._buf[len(self._buf) - keep :]
                break
            out.append(self._buf[: match.start()])
            self._buf = self._buf[match.start() :]
            emitted = self._construct(final or len(self._buf) > _MAX_HOLD)
            if emitted is None:
                break  # wait for more text
            out.append(emitted)
        return "".join(out)

    def _construct(self, final: bool) -> str | None:
        """Consume the construct at the start of the buffer and return its safe text, or None
        when it cannot be decided yet."""
        buf = self._buf
        image = _IMAGE.match(buf)
        if image:
            self._buf = buf[image.end() :]
            return ""
        link = _LINK.match(buf)
        if link:
            self._buf = buf[link.end() :]
            return link.group(0) if self._allowed(link.group(2)) else link.group(1)
        auto = _AUTOLINK.match(buf)
        if auto:
            self._buf = buf[auto.end() :]
            return auto.group(0) if self._allowed(auto.group(1)) else self.marker
        url = _BARE_URL.match(buf)
        if url and (url.end() < len(buf) or final):
            self._buf = buf[url.end() :]
            return url.group(0) if self._allowed(url.group(0)) else self.marker
        if buf[0] == "<" and len(buf) > 1 and not _could_start_url(buf[1:]):
            self._buf = buf[1:]  # "<" in running text, e.g. 金额<5万元
            return "<"
        brackets = _BRACKETS.match(buf)
        decided = brackets is not None and (brackets.end() < len(buf) or final)
        if brackets and decided and (buf[brackets.end() : brackets.end() + 1] != "(" or final):
            self._buf = buf[brackets.end() :]  # "[1]" and other plain brackets
            return brackets.group(0)
        if final or ("\n" in buf[:_MAX_HOLD] and not url):
            self._buf = buf[1:]  # an unclosed "[", "<" or "!" is just a character
            return buf[0]
        return None


def _partial_suffix(text: str) -> int:
    """Length of the longest end of ``text`` that could start the canary, a URL or an image."""
    for size in range(min(len(text), len(CANARY) - 1), 0, -1):
        tail = text[-size:]
        if CANARY.startswith(tail) or any(
            p.startswith(tail.lower()) for p in ("https://", "www.", "![")
        ):
            return size
    return 0


def _could_start_url(text: str) -> bool:
    head = text[:8].lower()
    return any(p.startswith(head) or head.startswith(p) for p in ("http://", "https://", "www."))
