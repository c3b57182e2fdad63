"""File loaders: one function per format, each returning a ``SourceDocument`` or raising
``LoadError`` with a reason code. Nothing here touches the index. Plain text and HTML are read
here; office formats in ``ingest.office``, PDFs and images (with OCR) in ``ingest.paged``."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from index_store.errors import LoadError
from index_store.records import SourceDocument
from ingest.office import load_doc, load_docx, load_xlsx
from ingest.paged import IMAGE_SUFFIXES, PageFn, load_paged
from ingest.textdecode import decode_bytes, normalize_text
from ingest.titles import finish

if TYPE_CHECKING:
    from bs4 import Tag

logger = logging.getLogger(__name__)


def load_text(path: Path) -> SourceDocument:
    text, encoding = decode_bytes(path.read_bytes(), path.name)
    logger.debug("decoded path=%s encoding=%s", path, encoding)
    kind = "markdown" if path.suffix.lower() in (".md", ".markdown") else "text"
    return finish(SourceDocument(str(path), normalize_text(text), "", kind), path)


_BLOCK_TAGS = (
    "p",
    "div",
    "li",
    "tr",
    "br",
    "section",
    "article",
    "blockquote",
    "pre",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dd",
    "dt",
)


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _is_hidden(tag: Tag) -> bool:
    return tag.has_attr("hidden") or bool(_HIDDEN_STYLE.search(str(tag.get("style") or "")))


def load_html(path: Path) -> SourceDocument:
    from bs4 import BeautifulSoup

    raw = path.read_bytes()
    text, _ = decode_bytes(raw, path.name)
    soup = BeautifulSoup(text, "lxml")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer", "head"]):
        if tag.name == "head":
            continue
        tag.decompose()
    # Text a reader never sees is not the document's (and is where injected instructions hide).
    for tag in soup.find_all(_is_hidden):
        tag.decompose()
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    if title_tag:
        title_tag.decompose()
    # Headings become markdown headings so the chunker sees the structure.
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.insert(0, "\n" + "#" * level + " ")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.append("\n")
    body = normalize_text(re.sub(r"[ \t]+", " ", soup.get_text()))
    return finish(SourceDocument(str(path), body, title or "", "html"), path)


# Scanned pages at about 2 s each: a longer scan is refused rather than tying up ingest.
DEFAULT_OCR_MAX_PAGES = 300

LOADERS: dict[str, Callable[[Path], SourceDocument]] = {
    ".txt": load_text,
    ".text": load_text,
    ".md": load_text,
    ".markdown": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
    ".xlsx": load_xlsx,
    ".doc": load_doc,
}
# Read a page at a time, with OCR where a page has no text (``ingest.paged``).
PAGED_SUFFIXES = frozenset({".pdf", *IMAGE_SUFFIXES})
SUPPORTED_SUFFIXES = frozenset(LOADERS) | PAGED_SUFFIXES


def check_size(path: Path, max_bytes: int) -> None:
    """Raise ``LoadError`` when ``path`` is unreadable or over ``max_bytes``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError("unreadable", f"{path}: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise LoadError(
            "too_large",
            f"{path.name}: {size / 1e6:.1f} MB is over the limit of {max_bytes / 1e6:.1f} MB "
            "(POLICYQA_MAX_FILE_MB)",
        )


def load_file(
    path: Path,
    max_bytes: int,
    max_ocr_pages: int = DEFAULT_OCR_MAX_PAGES,
    on_page: PageFn | None = None,
) -> SourceDocument:
    """Load one file by its extension; every failure is a ``LoadError`` with a reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            "unsupported",
            f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        )
    check_size(path, max_bytes)
    try:
        if suffix in PAGED_SUFFIXES:
            return load_paged(path, max_ocr_pages, on_page)
        return LOADERS[suffix](path)
    except OSError as exc:
        raise LoadError("unreadable", f"{path}: {exc.strerror or exc}") from exc
