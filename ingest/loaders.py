"""File loaders: one function per format, each returning a ``SourceDocument`` or raising
``LoadError`` with a reason code. Nothing here touches the index."""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from index_store.errors import LoadError
from index_store.numbering import FRONT_MATTER
from index_store.records import SourceDocument
from ingest.textdecode import decode_bytes, normalize_text

if TYPE_CHECKING:
    from bs4 import Tag

logger = logging.getLogger(__name__)

_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_TITLE_MAX = 80


def guess_title(text: str, fallback: str) -> str:
    """The ``title:`` of a markdown page's front matter, else its first markdown heading, else a
    short first line, else ``fallback``."""
    front = FRONT_MATTER.match(text)
    if front:
        found = _FRONT_TITLE.search(front.group(1) or "")
        title = found.group(1).strip("\"' ") if found else ""
        if title:
            return title[:_TITLE_MAX]
        text = text[front.end() :]
    match = _MD_HEADING.search(text[:2000])
    if match:
        return match.group(1).strip()[:_TITLE_MAX]
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= _TITLE_MAX else fallback
    return fallback


def _finish(
    path: Path, text: str, kind: str, title: str | None = None, page_starts: tuple[int, ...] = ()
) -> SourceDocument:
    if not text.strip():
        raise LoadError("empty", f"{path.name}: the file holds no text")
    return SourceDocument(
        source=str(path),
        text=text,
        title=title or guess_title(text, path.stem),
        kind=kind,
        page_starts=page_starts,
    )


def load_text(path: Path) -> SourceDocument:
    text, encoding = decode_bytes(path.read_bytes(), path.name)
    logger.debug("decoded path=%s encoding=%s", path, encoding)
    kind = "markdown" if path.suffix.lower() in (".md", ".markdown") else "text"
    return _finish(path, normalize_text(text), kind)


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
    return _finish(path, body, "html", title or None)


def load_pdf(path: Path) -> SourceDocument:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            # An owner-password-only PDF opens with the empty user password.
            try:
                if not reader.decrypt(""):
                    raise LoadError("encrypted", f"{path.name}: the PDF needs a password")
            except (FileNotDecryptedError, NotImplementedError) as exc:
                raise LoadError("encrypted", f"{path.name}: the PDF needs a password") from exc
        pages = [normalize_text(page.extract_text() or "") for page in reader.pages]
    except LoadError:
        raise
    except FileNotDecryptedError as exc:
        raise LoadError("encrypted", f"{path.name}: the PDF needs a password") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError("corrupt", f"{path.name}: not a readable PDF ({exc})") from exc
    if not any(pages):
        raise LoadError(
            "no_text",
            f"{path.name}: the PDF has no text layer (scanned images?); run OCR on it first",
        )
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for page in pages:
        starts.append(offset)
        parts.append(page)
        offset += len(page) + 2
    return _finish(path, "\n\n".join(parts), "pdf", page_starts=tuple(starts))


def load_docx(path: Path) -> SourceDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError("corrupt", f"{path.name}: not a readable DOCX file ({exc})") from exc
    lines: list[str] = []
    title = (document.core_properties.title or "").strip() or None
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style == "Title":
            title = title or text
            lines.append(f"# {text}")
        elif style.startswith("Heading") and style[-1:].isdigit():
            lines.append("#" * min(int(style[-1]) + 1, 6) + " " + text)
        else:
            lines.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            if any(cells):
                lines.append(" | ".join(cells))
    return _finish(path, normalize_text("\n".join(lines)), "docx", title)


LOADERS: dict[str, Callable[[Path], SourceDocument]] = {
    ".txt": load_text,
    ".text": load_text,
    ".md": load_text,
    ".markdown": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
}


def load_file(path: Path, max_bytes: int) -> SourceDocument:
    """Load one file by its extension; every failure is a ``LoadError`` with a reason."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(
            "unsupported",
            f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
            f"supported: {', '.join(sorted(LOADERS))}",
        )
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
    try:
        return loader(path)
    except OSError as exc:
        raise LoadError("unreadable", f"{path}: {exc.strerror or exc}") from exc
