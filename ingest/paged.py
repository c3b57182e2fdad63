"""Files read a page at a time (PDFs and images), with OCR for pages that have no text.

Loading is split in three so that the parsing child (``ingest.sandbox``) can bound each step:
``read_paged`` reads what the file holds and marks the pages to OCR; ``ocr_page`` recognises
one of them; ``assemble`` lays the pages out as one document, remembering which were OCR'd so
that citations can say so. ``load_paged`` runs all three in this process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from index_store.errors import LoadError
from index_store.records import SourceDocument
from ingest.tables import DocumentBuilder
from ingest.titles import finish

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})
# Pages are rendered for OCR at this resolution, and never larger than OCR_MAX_PIXELS.
OCR_DPI = 200
OCR_MAX_PIXELS = 8_000_000
# An image larger than this is refused unread (a decompression bomb, or not a page).
IMAGE_MAX_PIXELS = 200_000_000
T = TypeVar("T")
# The metadata key naming the pages whose text came from OCR ("1,3"; 1-based).
OCR_PAGES_KEY = "ocr_pages"


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str | None, ...], ...]
    caption: str = ""


Block = str | Table


@dataclass(frozen=True)
class PagedFile:
    """What a paged file holds: per page its blocks, or None for a page to OCR."""

    source: str
    kind: str
    title: str
    pages: tuple[tuple[Block, ...] | None, ...]

    @property
    def to_ocr(self) -> list[int]:
        return [i for i, page in enumerate(self.pages) if page is None]


def read_paged(path: Path) -> PagedFile:
    if path.suffix.lower() == ".pdf":
        from ingest.pdf import read_pdf

        return read_pdf(path)
    return read_image(path)


def _open_image(path: Path) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = IMAGE_MAX_PIXELS  # Pillow refuses bigger ones as bombs
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise LoadError("too_large", f"{path.name}: {exc}") from exc
    except (UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise LoadError("corrupt", f"{path.name}: not a readable image ({exc})") from exc
    width, height = image.size
    if width * height > IMAGE_MAX_PIXELS:
        raise LoadError(
            "too_large",
            f"{path.name}: {width}x{height} pixels is over {IMAGE_MAX_PIXELS // 10**6} "
            "megapixels; scan the page at 300 dpi or less",
        )
    return image


def read_image(path: Path) -> PagedFile:
    """An image file: every frame (a multi-page TIFF has several) is a page to OCR."""
    with _open_image(path) as image:
        frames = getattr(image, "n_frames", 1)
    return PagedFile(str(path), "image", "", (None,) * frames)


def _bounded(image: Image.Image) -> Image.Image:
    """``image`` in RGB, scaled down to at most ``OCR_MAX_PIXELS``."""
    width, height = image.size
    if width * height > OCR_MAX_PIXELS:
        scale = math.sqrt(OCR_MAX_PIXELS / (width * height))
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        image.draft("RGB", size)  # a JPEG decodes at a fraction of its size: far less work
        image = image.convert("RGB")
        image.thumbnail(size)
        return image
    return image.convert("RGB")


def page_image(path: Path, index: int) -> Image.Image:
    """Page ``index`` (0-based) of a PDF or an image file, as an RGB image fit for OCR."""
    if path.suffix.lower() == ".pdf":
        from ingest.pdf import render_page

        return render_page(path, index, OCR_DPI, OCR_MAX_PIXELS)
    image = _open_image(path)
    image.seek(index)
    return _bounded(image)


def ocr_page(path: Path, index: int) -> str:
    from ingest.ocr import recognise

    return recognise(page_image(path, index))


def check_ocr_budget(paged: PagedFile, max_pages: int, name: str) -> None:
    pages = len(paged.to_ocr)
    if pages > max_pages:
        raise LoadError(
            "too_large",
            f"{name}: {pages} pages have no text layer and need OCR, over the limit of "
            f"{max_pages} (POLICYQA_OCR_MAX_PAGES); split the scan",
        )


def assemble(paged: PagedFile, recognised: Mapping[int, str]) -> SourceDocument:
    """The document: pages in order, OCR'd pages filled from ``recognised``."""
    out = DocumentBuilder()
    for index, page in enumerate(paged.pages):
        out.page()
        blocks: Sequence[Block] = (recognised.get(index, ""),) if page is None else page
        for block in blocks:
            if isinstance(block, Table):
                out.table(block.rows, block.caption)
            else:
                out.paragraph(block)
    ocr = [str(i + 1) for i in paged.to_ocr if recognised.get(i, "").strip()]
    meta = {OCR_PAGES_KEY: ",".join(ocr)} if ocr else {}
    doc = out.build(paged.source, paged.kind, paged.title, meta)
    if not doc.text.strip() and paged.to_ocr:
        raise LoadError("empty", f"{Path(paged.source).name}: OCR found no text on its pages")
    return finish(doc, Path(paged.source))


PageFn = Callable[[int, int], None]
Runner = Callable[..., Any]


def _here(fn: Callable[..., T], *args: object) -> T:
    return fn(*args)


def load_paged(
    path: Path, max_ocr_pages: int, on_page: PageFn | None = None, run: Runner = _here
) -> SourceDocument:
    """Read, OCR and assemble ``path``: each step through ``run(fn, *args)``, in this process
    by default (the sandbox runs each step in its limited child)."""
    paged: PagedFile = run(read_paged, path)
    check_ocr_budget(paged, max_ocr_pages, path.name)
    recognised: dict[int, str] = {}
    todo = paged.to_ocr
    for done, index in enumerate(todo, 1):
        recognised[index] = run(ocr_page, path, index)
        if on_page is not None:
            on_page(done, len(todo))
    return assemble(paged, recognised)
