"""The entries of a document's text, in reading order: markdown headings, numbered clauses
(the markers the chunker cuts at: 第…章/节/条, 一、, （一）, 1., 2.1, Section 3) and bullets, which
nest by rank, and table rows, siblings within their table; and what each entry is called.
Parsed once at ingest and stored with the document (``index_store.structure``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index_store.numbering import (
    MARKDOWN_LINK,
    TABLE_SEPARATOR,
    CodeBlocks,
    leading_marker,
    marker_level,
)

_HEADING = re.compile(r"(#{1,6})\s+\S")
_BULLET = re.compile(r"(\s*)[-*+•]\s+\S")
ROW_RANK = 90


@dataclass
class Entry:
    """One entry of a document; offsets are in the document's text. (Not frozen: ``end`` is
    known only once the parser reaches the entry that closes it.)"""

    start: int  # where its line starts (after indentation)
    line_end: int
    end: int  # where what it heads ends: the next entry of the same or a lower rank
    rank: int
    parent: int  # start of the enclosing entry or table; -1 for the document
    label: str  # its line without markup (a heading's #, a bullet, a row's outer pipes)
    label_start: int


def _rank(line: str) -> int | None:
    stripped = line.lstrip()
    heading = _HEADING.match(stripped)
    if heading:
        return len(heading.group(1))
    rank = marker_level(stripped)
    if rank is not None:
        return rank
    bullet = _BULLET.match(line)
    return 20 + len(bullet.group(1).expandtabs(4)) // 2 if bullet else None


def parse_entries(text: str) -> list[Entry]:
    """The entries of ``text`` in reading order."""
    lines: list[tuple[int, int, str]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, pos + len(line), line))
        pos += len(line) + 1
    entries: list[Entry] = []
    stack: list[Entry] = []
    table = -1
    code = CodeBlocks(text)
    for i, (start, end, line) in enumerate(lines):
        if start in code:
            table = -1
            continue
        stripped = line.strip()
        indent = start + len(line) - len(line.lstrip())
        if stripped.startswith("|"):
            table = indent if table < 0 else table
            following = lines[i + 1][2].strip() if i + 1 < len(lines) else ""
            if not (TABLE_SEPARATOR.fullmatch(stripped) or TABLE_SEPARATOR.fullmatch(following)):
                label, at = _label(line, start, "|")
                if label.strip("| "):  # an empty row is no entry to step to
                    entries.append(Entry(indent, end, end, ROW_RANK, table, label, at))
            continue
        table = -1
        rank = _rank(line) if stripped else None
        if rank is None:
            continue
        while stack and stack[-1].rank >= rank:
            stack.pop().end = indent
        label, at = _label(line, start, "#" if rank <= 6 else "-*+•" if rank >= 20 else "")
        entry = Entry(indent, end, len(text), rank, stack[-1].start if stack else -1, label, at)
        entries.append(entry)
        stack.append(entry)
    return entries


def _label(line: str, start: int, markup: str) -> tuple[str, int]:
    """The line without its leading (and a row's trailing) markup, and where that starts."""
    body = line.lstrip().lstrip(markup).lstrip()
    if markup == "|":
        body = body.rstrip().rstrip("|").rstrip()
    return body.rstrip(), start + line.index(body) if body else start


_PARENTHESES = re.compile(r"[(（][^)）]*[)）]")


def entry_name(entry: Entry) -> str:
    """What an entry is called: a row's first cell, else its line before a colon, without
    markdown links, emphasis, parentheses or its number ("Group Channels (g_)" -> "Group
    Channels", "三、申请条件" -> "申请条件")."""
    label = entry.label.split("|")[0] if entry.rank == ROW_RANK else entry.label
    label = MARKDOWN_LINK.sub(r"\1", label).replace("*", "").replace("`", "")
    label = re.split(r"[:：]", label, maxsplit=1)[0]
    label = _PARENTHESES.sub("", label).strip()
    number = leading_marker(label)
    return " ".join(label[number[0].end() if number else 0 :].split())
