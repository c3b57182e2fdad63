"""Answer -> JSON (CLI, HTTP API) and Answer -> safe HTML (UI). All document and model text is
escaped: it is untrusted."""

from __future__ import annotations

import html
import re
from typing import Any

from index_store.records import Answer, Citation

# Everything Markdown could read as syntax: link and image brackets, emphasis, headings, code,
# and the ':' of a scheme (GFM turns a bare https://host into a link; 'https\://' stays text).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


def safe_markdown(text: str) -> str:
    """Untrusted text (document or model output) made inert for a Markdown renderer: HTML
    escaped, Markdown punctuation backslash-escaped. It displays exactly as written, but no
    image loads, no link (``javascript:``, ``data:`` or any host) is created, no tag runs."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def citation_json(c: Citation) -> dict[str, Any]:
    return {
        "n": c.n,
        "doc_id": c.doc_id,
        "source": c.source,
        "title": c.title,
        "locator": c.locator,
        "text": c.text,
        "quote": c.quote,
        "start": c.start,
        "end": c.end,
        "score": round(c.score, 6),
        "chunk_id": c.chunk_id,
    }


def answer_json(a: Answer) -> dict[str, Any]:
    """The ``Answer`` record as the CLI and ``POST /api/ask`` return it."""
    return {
        "question": a.question,
        "answer": a.answer,
        "mode": a.mode,
        "refused": a.refused,
        "citations": [citation_json(c) for c in a.citations],
        "notice": a.notice,
        "warnings": list(a.warnings),
        "language": a.language,
    }


def sources_text(a: Answer) -> str:
    """A numbered source list in plain text (appended to OpenAI-compatible responses)."""
    label = "来源" if a.language == "zh" else "Sources"
    lines = [f"{label}:"]
    for c in a.citations:
        where = f"{c.title} › {c.locator}" if c.locator else c.title
        lines.append(f"[{c.n}] {where}: {c.quote or c.text}")
    return "\n".join(lines)


def _highlight(text: str, quote: str) -> str:
    """Escaped passage text with each quoted sentence wrapped in <mark>."""
    if not quote:
        return html.escape(text)
    spans: list[tuple[int, int]] = []
    for part in quote.split("\n"):
        pos = text.find(part) if part else -1
        if pos >= 0:
            spans.append((pos, pos + len(part)))
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(html.escape(text[last:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


def sources_html(a: Answer) -> str:
    """The sources panel: one card per cited passage, the quoted sentences highlighted."""
    if not a.citations:
        return ""
    heading = "引用来源" if a.language == "zh" else "Sources"
    if a.refused:
        heading = "可能相关的段落" if a.language == "zh" else "Possibly related passages"
    cards = []
    for c in a.citations:
        where = html.escape(c.title) + (f" › {html.escape(c.locator)}" if c.locator else "")
        cards.append(
            f'<div class="pqa-source" id="source-{c.n}">'
            f'<div class="pqa-source-head"><b>[{c.n}]</b> {where}</div>'
            f'<div class="pqa-source-meta">{html.escape(c.source)} · {c.start}–{c.end}</div>'
            f'<blockquote class="pqa-source-text">{_highlight(c.text, c.quote)}</blockquote>'
            "</div>"
        )
    return f'<div class="pqa-sources"><h4>{heading}</h4>{"".join(cards)}</div>'
