"""Tables as text a row at a time, and the builder that lays out a document of paragraphs,
tables and pages.

A subsidy table is asked about a row at a time ("小微企业每人补多少？"), so each row becomes
one line that carries its column names: ``企业类型：小微企业；补贴标准：每人1000元``. The
row then retrieves and quotes on its own, and the chunker cuts a table between rows only
(``TableSpan``). A cell merged across rows (a category that spans several) is repeated in
each row it covers, so that no row loses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from index_store.records import SourceDocument, TableSpan
from index_store.table_rows import format_row
from index_store.text import normalize_text

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SPACE = re.compile(r"\s+")
_CJK_CHAR = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
_CJK_BREAK = re.compile(rf"(?<={_CJK_CHAR})\s+(?={_CJK_CHAR})")
# A paragraph that names the table below it: short, no sentence end.
_CAPTION_MAX = 40
_SENTENCE_END = re.compile(r"[。；;！!？?]")

Row = Sequence[str | None]


def clean_cell(cell: str | None) -> str:
    """A cell's text on one line: line breaks inside Chinese text dropped, other runs of
    whitespace one space."""
    if not cell:
        return ""
    return _SPACE.sub(" ", _CJK_BREAK.sub("", cell)).strip()


def _filled(rows: Sequence[Row]) -> list[list[str]]:
    """Rows with None cells (the body of a merged cell, as pdfplumber reports it) filled
    from the cell above, or from the left in the header row; empty rows dropped."""
    out: list[list[str]] = []
    width = max((len(r) for r in rows), default=0)
    for row in rows:
        cells: list[str] = []
        for i in range(width):
            raw = row[i] if i < len(row) else None
            if raw is None:
                above = out[-1][i] if out else ""
                left = cells[-1] if cells else ""
                cells.append(above if out else left)
            else:
                cells.append(clean_cell(raw))
        if any(cells):
            out.append(cells)
    return out


def _looks_like_header(cells: list[str]) -> bool:
    named = [c for c in cells if c]
    return len(named) >= 2 and not any(re.fullmatch(r"[\d.,%\s元万]+", c) for c in named)


def row_lines(rows: Sequence[Row]) -> list[str]:
    """One line per body row, each cell under its column name. A table whose first row is
    not a header (numbers in it, or a single column) keeps its rows as ``a | b`` lines."""
    table = _filled(rows)
    if not table:
        return []
    headers, body = table[0], table[1:]
    if not body or not _looks_like_header(headers):
        return [" | ".join(_distinct(r)) for r in table]
    chinese = bool(_CJK.search("".join(headers)))
    lines = []
    for row in body:
        cells: list[tuple[str, str]] = []
        for name, value in zip(headers, row, strict=True):
            cell = (name if name != value else "", value)
            if value and cell not in cells:  # a cell merged across columns repeats itself
                cells.append(cell)
        if cells:
            lines.append(format_row(cells, chinese))
    return lines


def _distinct(cells: list[str]) -> list[str]:
    out: list[str] = []
    for cell in cells:
        if cell and (not out or out[-1] != cell):
            out.append(cell)
    return out


def is_caption(paragraph: str) -> bool:
    """Whether a paragraph can name the table that follows it (表1 补贴标准, 附表：申报材料)."""
    text = paragraph.strip()
    return 0 < len(text) <= _CAPTION_MAX and not _SENTENCE_END.search(text)


@dataclass
class DocumentBuilder:
    """Lays out a document block by block, keeping the offsets that chunking and citations
    need: where each page starts and where each table's rows lie."""

    parts: list[str] = field(default_factory=list)
    offset: int = 0
    page_starts: list[int] = field(default_factory=list)
    tables: list[TableSpan] = field(default_factory=list)
    _last_paragraph: str = ""

    def _append(self, text: str) -> None:
        if self.parts:
            self.parts.append("\n")
            self.offset += 1
        self.parts.append(text)
        self.offset += len(text)

    def page(self, separator: str = "\n") -> None:
        """Start a new page (a blank line apart from the one before)."""
        if self.parts:
            self.parts.append(separator)
            self.offset += len(separator)
        self.page_starts.append(self.offset + (1 if self.parts else 0))
        self._last_paragraph = ""

    def paragraph(self, text: str) -> None:
        text = normalize_text(text)
        if text:
            self._append(text)
            self._last_paragraph = text.rsplit("\n", 1)[-1]

    def table(self, rows: Sequence[Row], caption: str = "") -> None:
        """A table as row lines; ``caption`` defaults to the paragraph just before it when
        that reads as one, else 表N / Table N."""
        lines = row_lines(rows)
        if not lines:
            return
        if not caption:
            if is_caption(self._last_paragraph):
                caption = self._last_paragraph
            else:
                number = len(self.tables) + 1
                caption = f"表{number}" if _CJK.search("".join(lines)) else f"Table {number}"
        text = "\n".join(lines)
        self._append(text)
        self.tables.append(TableSpan(self.offset - len(text), self.offset, caption))
        self._last_paragraph = ""

    def build(
        self, source: str, kind: str, title: str, metadata: dict[str, str] | None = None
    ) -> SourceDocument:
        text = "".join(self.parts)
        starts = tuple(s for s in self.page_starts if s <= len(text))
        return SourceDocument(
            source=source,
            text=text,
            title=title,
            kind=kind,
            page_starts=starts,
            tables=tuple(self.tables),
            metadata=metadata or {},
        )
