"""PDFs: the text layer (pypdf), ruled tables (pdfplumber, MIT) in place on their page, and
page images (pypdfium2, Apache-2.0/BSD) for the pages that have no text layer to OCR.

A page counts as scanned when it carries an image and fewer than ``MIN_TEXT_CHARS`` characters
of text (a scanner's page number is no text layer). A page without tables keeps pypdf's text as
before; a page with tables is read by pdfplumber in horizontal bands, the text between tables
as text and each table as rows.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index_store.errors import LoadError
from ingest.paged import Block, PagedFile, Table
from ingest.textdecode import normalize_text

if TYPE_CHECKING:
    from PIL import Image
    from pypdf import PageObject, PdfReader

logger = logging.getLogger(__name__)

MIN_TEXT_CHARS = 20
_SPACE = re.compile(r"\s")


def _reader(path: Path) -> PdfReader:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        # An owner-password-only PDF opens with the empty user password.
        try:
            if not reader.decrypt(""):
                raise LoadError("encrypted", f"{path.name}: the PDF needs a password")
        except (FileNotDecryptedError, NotImplementedError) as exc:
            raise LoadError("encrypted", f"{path.name}: the PDF needs a password") from exc
    return reader


def _has_image(page: PageObject) -> bool:
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None:
        return False
    return any(
        xobject.get_object().get("/Subtype") == "/Image"
        for xobject in xobjects.get_object().values()
    )


def read_pdf(path: Path) -> PagedFile:
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = _reader(path)
        texts = [normalize_text(page.extract_text() or "") for page in reader.pages]
        scanned = [
            len(_SPACE.sub("", text)) < MIN_TEXT_CHARS and _has_image(page)
            for text, page in zip(texts, reader.pages, strict=True)
        ]
    except LoadError:
        raise
    except FileNotDecryptedError as exc:
        raise LoadError("encrypted", f"{path.name}: the PDF needs a password") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError("corrupt", f"{path.name}: not a readable PDF ({exc})") from exc
    tables = _table_pages(path, [i for i, s in enumerate(scanned) if not s and texts[i]])
    pages: list[tuple[Block, ...] | None] = []
    for i, text in enumerate(texts):
        if scanned[i]:
            pages.append(None)
        else:
            pages.append(tables.get(i) or ((text,) if text else ()))
    if not any(pages) and not any(scanned):
        raise LoadError("empty", f"{path.name}: the PDF holds no text and no page images")
    return PagedFile(str(path), "pdf", "", tuple(pages))


def _table_pages(path: Path, indexes: list[int]) -> dict[int, tuple[Block, ...]]:
    """The pages (of ``indexes``) that hold ruled tables, read as text bands and tables. A
    file pdfplumber cannot read keeps its text as pypdf read it."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    found: dict[int, tuple[Block, ...]] = {}
    try:
        with pdfplumber.open(str(path), password="") as pdf:
            for i in indexes:
                blocks = _bands(pdf.pages[i])
                if blocks is not None:
                    found[i] = blocks
                pdf.pages[i].close()  # drop the page's parsed objects
    except (PDFSyntaxError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        logger.info("table detection skipped path=%s error=%s", path, type(exc).__name__)
    return found


def _bands(page: Any) -> tuple[Block, ...] | None:
    tables = sorted(page.find_tables(), key=lambda t: t.bbox[1])
    if not tables:
        return None
    blocks: list[Block] = []
    top = 0.0
    for table in tables:
        _, t_top, _, t_bottom = table.bbox
        if t_top > top:
            blocks.append(_text(page, (0, top, page.width, t_top)))
        blocks.append(Table(tuple(tuple(row) for row in table.extract())))
        top = max(top, t_bottom)
    if top < page.height:
        blocks.append(_text(page, (0, top, page.width, page.height)))
    return tuple(b for b in blocks if b)


def _text(page: Any, bbox: tuple[float, float, float, float]) -> str:
    """The text of the characters whose middle lies in ``bbox``'s band (a line that touches
    a table's border still belongs to the band beside it)."""
    _, top, _, bottom = bbox

    def inside(obj: dict[str, Any]) -> bool:
        middle = (obj["top"] + obj["bottom"]) / 2
        return obj.get("object_type") != "char" or top <= middle < bottom

    return normalize_text(page.filter(inside).extract_text() or "")


def render_page(path: Path, index: int, dpi: int, max_pixels: int) -> Image.Image:
    """Page ``index`` as an RGB image at ``dpi``, scaled down to at most ``max_pixels``."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path), password="")
    except pdfium.PdfiumError as exc:
        raise LoadError("corrupt", f"{path.name}: page {index + 1} cannot be rendered") from exc
    try:
        page = pdf[index]
        width, height = page.get_size()
        scale = min(dpi / 72, (max_pixels / max(width * height, 1.0)) ** 0.5)
        image: Image.Image = page.render(scale=scale).to_pil().convert("RGB")
        return image
    finally:
        pdf.close()
