"""Answer -> JSON (CLI, HTTP API) and Answer -> safe HTML (UI). All document and model text is
escaped: it is untrusted."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from chatbot.answering.eligibility import only_how_to_apply
from chatbot.answering.prompts import (
    ALSO_IN,
    APPLICATION_TITLE,
    BASIS_LABEL,
    CHECKLIST_CATEGORIES,
    CHECKLIST_STATUS,
    CHECKLIST_TITLE,
)
from index_store.records import Answer, Citation, Condition, public_source
from index_store.table_rows import parse_row

if TYPE_CHECKING:
    from chatbot.web.doc_view import DocLinks

# Everything Markdown could read as syntax: link and image brackets, emphasis, headings, code,
# and the ':' of a scheme (GFM turns a bare https://host into a link; 'https\://' stays text).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)


def safe_markdown(text: str) -> str:
    """Untrusted text (document or model output) made inert for a Markdown renderer: HTML
    escaped, Markdown punctuation backslash-escaped. It displays exactly as written, but no
    image loads, no link (``javascript:``, ``data:`` or any host) is created, no tag runs."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def citation_json(c: Citation, links: DocLinks | None = None) -> dict[str, Any]:
    return {
        "n": c.n,
        "doc_id": c.doc_id,
        "source": public_source(c.source),
        "title": c.title,
        "locator": c.locator,
        "text": c.text,
        "quote": c.quote,
        "start": c.start,
        "end": c.end,
        "score": round(c.score, 6),
        "chunk_id": c.chunk_id,
        "clause": c.clause,
        "policy": c.policy,
        "quote_start": c.quote_start,
        "quote_end": c.quote_end,
        "view_url": links.url(c.doc_id, c.quote_start, c.quote_end) if links else None,
        "copies": [
            {
                "doc_id": x.doc_id,
                "source": public_source(x.source),
                "title": x.title,
                "locator": x.locator,
                "chunk_id": x.chunk_id,
                "start": x.start,
                "end": x.end,
                "view_url": links.url(x.doc_id, x.start, x.end) if links else None,
            }
            for x in c.copies
        ],
    }


def condition_json(c: Condition) -> dict[str, Any]:
    return {
        "category": c.category,
        "text": c.text,
        "n": c.n,
        "status": c.status,
        "reason": c.reason,
    }


def answer_json(a: Answer, links: DocLinks | None = None) -> dict[str, Any]:
    """The ``Answer`` record as the CLI and ``POST /api/ask`` return it."""
    return {
        "question": a.question,
        "answer": a.answer,
        "mode": a.mode,
        "refused": a.refused,
        "partial": a.partial,
        "citations": [citation_json(c, links) for c in a.citations],
        "notice": a.notice,
        "warnings": list(a.warnings),
        "language": a.language,
        "basis": list(a.basis),
        "checklist": [condition_json(c) for c in a.checklist],
        "as_of": a.as_of,
    }


def checklist_lines(a: Answer) -> list[str]:
    """The checklist as plain lines: status, kind, the clause's sentence, its citation."""
    if not a.checklist:
        return []
    status = CHECKLIST_STATUS[a.language]
    kinds = CHECKLIST_CATEGORIES[a.language]
    title = APPLICATION_TITLE if only_how_to_apply(a.question) else CHECKLIST_TITLE
    lines = [f"{title[a.language]}:"]
    for c in a.checklist:
        lines.append(f"{status[c.status]} {kinds[c.category]}: {c.text} [{c.n}] ({c.reason})")
    return lines


def basis_line(a: Answer) -> str:
    sep = "；" if a.language == "zh" else "; "
    return f"{BASIS_LABEL[a.language]}: {sep.join(a.basis)}" if a.basis else ""


def sources_text(a: Answer) -> str:
    """A numbered source list in plain text (appended to OpenAI-compatible responses)."""
    label = "来源" if a.language == "zh" else "Sources"
    lines = [f"{label}:"]
    for c in a.citations:
        where = f"{c.title} › {c.clause}" if c.clause else c.title
        lines.append(f"[{c.n}] {where}: {c.quote or c.text}")
        if c.copies:
            lines.append(
                f"    {ALSO_IN[a.language]}: "
                + "; ".join(public_source(x.source) for x in c.copies)
            )
    return "\n".join(lines)


def shown_text(text: str) -> str:
    """A passage as the sources panel shows it: markdown heading markers ("## 二、奖励标准")
    are layout, not words, and are left out."""
    return _MARKDOWN_HEADING.sub("", text)


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


def _rows_html(quote: str) -> str:
    """The quoted table rows (``企业类型：小微企业；补贴标准：每人1000元``) as a small table,
    their column names as its header; "" when the quote holds no row."""
    rows = [cells for line in quote.split("\n") if (cells := parse_row(line))]
    if not rows:
        return ""
    out = []
    for cells in rows:
        head = "".join(f"<th>{html.escape(name)}</th>" for name, _ in cells)
        body = "".join(f"<td>{html.escape(value)}</td>" for _, value in cells)
        out.append(f'<table class="pqa-row"><tr>{head}</tr><tr>{body}</tr></table>')
    return "".join(out)


def _open_link(url: str, label_html: str) -> str:
    """A link that opens the document view in a new tab (``label_html`` already escaped)."""
    href = html.escape(url)
    return f'<a class="pqa-open" href="{href}" target="_blank" rel="noopener">{label_html}</a>'


def _copies_html(c: Citation, language: str, links: DocLinks | None) -> str:
    """The line "Also in: a; b": the documents that carry the cited passage word for word,
    each a link to the passage in that document when the UI has a document view."""
    names = []
    for x in c.copies:
        name = html.escape(public_source(x.source))
        names.append(_open_link(links.url(x.doc_id, x.start, x.end), name) if links else name)
    sep = "；" if language == "zh" else "; "
    return f"{ALSO_IN[language]}: {sep.join(names)}"


def sources_html(a: Answer, links: DocLinks | None = None) -> str:
    """The sources panel: one card per cited passage (its clause, the policy's 文号 and
    validity, the quoted sentences highlighted) with a link to the document view."""
    if not a.citations:
        return ""
    heading = "引用来源" if a.language == "zh" else "Sources"
    if a.refused:
        heading = "可能相关的段落" if a.language == "zh" else "Possibly related passages"
    cards = []
    for c in a.citations:
        title = f"《{c.title}》" if a.language == "zh" else c.title
        where = html.escape(title) + (f" {html.escape(c.clause)}" if c.clause else "")
        if links is not None:
            where = _open_link(links.url(c.doc_id, c.quote_start, c.quote_end), where)
        meta = html.escape(c.policy or public_source(c.source))
        if c.copies:
            meta += f'<div class="pqa-source-copies">{_copies_html(c, a.language, links)}</div>'
        cards.append(
            f'<div class="pqa-source" id="source-{c.n}">'
            f'<div class="pqa-source-head"><b>[{c.n}]</b> {where}</div>'
            f'<div class="pqa-source-meta">{meta}</div>'
            f'<blockquote class="pqa-source-text">{_highlight(shown_text(c.text), c.quote)}'
            "</blockquote>"
            f"{_rows_html(c.quote)}"
            "</div>"
        )
    return f'<div class="pqa-sources"><h4>{heading}</h4>{"".join(cards)}</div>'
