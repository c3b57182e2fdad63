"""Office formats: DOCX (paragraphs and tables in document order), XLSX (a section a sheet,
a row a line with its column names) and legacy ``.doc`` (Debian's ``antiword``)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from index_store.errors import LoadError
from index_store.records import SourceDocument
from ingest.tables import DocumentBuilder
from ingest.titles import finish

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import _Row

# A workbook bigger than this many cells is refused: a table that size is data, not a policy.
MAX_SHEET_CELLS = 200_000
ANTIWORD_TIMEOUT_S = 60


def _docx_blocks(document: Document, out: DocumentBuilder) -> str | None:
    """Paragraphs (headings as markdown headings) and tables, in order; returns the title."""
    from docx.table import Table

    title = (document.core_properties.title or "").strip() or None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            out.table([_row_cells(row) for row in block.rows])
            continue
        text = block.text.strip()
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        if style == "Title":
            title = title or text
            out.paragraph(f"# {text}")
        elif style.startswith("Heading") and style[-1:].isdigit():
            out.paragraph("#" * min(int(style[-1]) + 1, 6) + " " + text)
        else:
            out.paragraph(text)
    return title


def _row_cells(row: _Row) -> list[str | None]:
    """A row's cell texts; a cell merged across columns (python-docx repeats it) counts once,
    the columns it also covers left empty."""
    seen: set[int] = set()
    cells: list[str | None] = []
    for cell in row.cells:
        cells.append("" if id(cell._tc) in seen else cell.text)
        seen.add(id(cell._tc))
    return cells


def load_docx(path: Path) -> SourceDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError("corrupt", f"{path.name}: not a readable DOCX file ({exc})") from exc
    out = DocumentBuilder()
    title = _docx_blocks(document, out)
    return finish(out.build(str(path), "docx", title or ""), path)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def load_xlsx(path: Path) -> SourceDocument:
    """Each sheet becomes a section (its name a heading) holding its rows as one table; a
    first row with a single filled cell above a wider table is the table's caption."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(str(path), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise LoadError("corrupt", f"{path.name}: not a readable XLSX file ({exc})") from exc
    out = DocumentBuilder()
    cells = 0
    try:
        for sheet in book.worksheets:
            rows: list[list[str]] = []
            for values in sheet.iter_rows(values_only=True):
                cells += len(values)
                if cells > MAX_SHEET_CELLS:
                    raise LoadError(
                        "too_large",
                        f"{path.name}: over {MAX_SHEET_CELLS:,} cells; a policy table is "
                        "smaller (split the workbook, or export the sheet you need)",
                    )
                row = [_cell_text(v) for v in values]
                if any(row):
                    rows.append(row)
            if not rows:
                continue
            out.paragraph(f"## {sheet.title}")
            caption = sheet.title
            if len(rows) > 1 and sum(1 for c in rows[0] if c) == 1 and len(rows[1]) > 1:
                caption = next(c for c in rows[0] if c)
                out.paragraph(caption)
                rows = rows[1:]
            out.table(rows, caption)
        title = (book.properties.title or "").strip() or path.stem
    finally:
        book.close()
    return finish(out.build(str(path), "xlsx", title), path)


# antiword draws a table row as "|cell|cell|".
_ANTIWORD_ROW = re.compile(r"^\|(.*)\|\s*$")


def load_doc(path: Path) -> SourceDocument:
    """Legacy Word through Debian's ``antiword`` (GPL, run as a separate program), which
    reads Chinese as UTF-8 and draws tables as ``|cell|cell|`` rows."""
    antiword = shutil.which("antiword")
    if antiword is None:
        raise LoadError(
            "unsupported",
            f"{path.name}: reading .doc needs Debian's antiword (apt-get install antiword, "
            "which scripts/install.sh does as root); or save the file as .docx",
        )
    env = {**os.environ, "ANTIWORDHOME": "/usr/share/antiword"}
    try:
        done = subprocess.run(
            [antiword, "-m", "UTF-8.txt", "-w", "0", str(path)],
            capture_output=True,
            timeout=ANTIWORD_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LoadError("resource_limit", f"{path.name}: antiword took over 60 s") from exc
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        raise LoadError("corrupt", f"{path.name}: not a readable Word document ({''.join(reason)})")
    out = DocumentBuilder()
    rows: list[list[str]] = []
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        row = _ANTIWORD_ROW.match(line)
        if row:
            rows.append(row.group(1).split("|"))
            continue
        if rows:
            out.table(rows)
            rows = []
        out.paragraph(line)
    if rows:
        out.table(rows)
    return finish(out.build(str(path), "doc", ""), path)
