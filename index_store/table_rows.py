"""The one-line form of a table row, written at ingest and read back by the sources panel:
``企业类型：小微企业；补贴标准：每人1000元`` (``Type: small; Subsidy: 1000`` in English)."""

from __future__ import annotations

import re

ROW_FORMS = {True: ("：", "；"), False: (": ", "; ")}  # by "is the table Chinese"
_CELL = re.compile(r"([^：:；;。\n]{1,24})[：:]\s*(\S.*)")


def format_row(cells: list[tuple[str, str]], chinese: bool) -> str:
    """``cells`` as (column name, value); a value without a name stands alone."""
    colon, sep = ROW_FORMS[chinese]
    return sep.join(f"{name}{colon}{value}" if name else value for name, value in cells)


def parse_row(line: str) -> list[tuple[str, str]] | None:
    """The (column name, value) cells of a row line, or None when ``line`` is not one (fewer
    than two named cells)."""
    line = line.strip()
    parts = line.split("；") if "；" in line else line.split("; ")
    cells = []
    for part in parts:
        match = _CELL.fullmatch(part.strip())
        if match is None:
            return None
        cells.append((match.group(1).strip(), match.group(2).strip()))
    return cells if len(cells) >= 2 else None
