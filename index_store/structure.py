"""A document's structure, parsed once at ingest and stored with it in the registry.

Two readers need it on every answer, and neither should scan a whole document again:

- list-position follow-ups ("下一条呢？") step between the document's entries
  (``index_store.entries``);
- citations name the clause that holds a quote (第三章 第十二条 第二款, Section 4.2(b)): they
  look up the markers before and after the quote here (every 第N条 and division marker, every
  Chinese section line, every English clause line) and read only the quote's own lines.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from index_store.entries import Entry, parse_entries
from index_store.numbering import ARABIC_LEVELS, LINE_MARKERS
from index_store.numbering import CN_NUM as _CN_NUM

# Bumped whenever what is stored changes, so documents are parsed again at the next ingest.
STRUCTURE_VERSION = "1"

ARTICLE_START = re.compile(rf"(?:^|(?<=[\n \t\u3000。；;]))第{_CN_NUM}条")
DIVISION_START = re.compile(rf"(?:^|(?<=[\n \t\u3000。；;]))第{_CN_NUM}[编章节条]")
# A Chinese section heading on a line of its own ("## 四、办理流程", "二、支持措施"), not a list
# item that says something ("一、延长春节假期至2月2日。").
CN_SECTION_LINE = re.compile(
    rf"^[ \t]*(?:#{{1,6}}[ \t]+)?(?P<label>{_CN_NUM}、[^\n。；;，,：:]{{1,20}})[ \t]*$",
    re.MULTILINE,
)
# A line that opens a division or numbered clause as the chunker finds it ("## Section 2",
# "2.1 Hotels"): the shared line markers, but not "1)" items, which no locator names.
EN_CLAUSE_LINE = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]+)?(?P<label>"
    + "|".join(pattern for level, pattern in LINE_MARKERS if level not in ARABIC_LEVELS)
    + ")",
    re.MULTILINE,
)

# A marker: where it starts, where it ends, and its text.
Mark = tuple[int, int, str]


def _marks(pattern: re.Pattern[str], text: str, group: str | int = 0) -> tuple[Mark, ...]:
    return tuple((m.start(group), m.end(group), m.group(group)) for m in pattern.finditer(text))


@dataclass(frozen=True)
class ClauseMarks:
    """The markers a clause locator looks for, in document order. Sections are kept with the
    start of their line (the label is what a citation names)."""

    articles: tuple[Mark, ...]
    divisions: tuple[Mark, ...]
    sections: tuple[Mark, ...]  # line start, label end, label
    clauses: tuple[tuple[int, int, str, int], ...]  # line start, label end, label, its start

    @classmethod
    def of(cls, text: str) -> ClauseMarks:
        sections = tuple(
            (m.start(), m.end("label"), m.group("label")) for m in CN_SECTION_LINE.finditer(text)
        )
        return cls(
            _marks(ARTICLE_START, text),
            _marks(DIVISION_START, text),
            sections,
            tuple(
                (m.start(), m.end("label"), m.group("label"), m.start("label"))
                for m in EN_CLAUSE_LINE.finditer(text)
            ),
        )

    def articles_in(self, begin: int, pos: int, reach: int) -> list[Mark]:
        """Article markers starting in ``[begin, pos]`` and ending by ``pos + reach``."""
        return _between(self.articles, begin, pos, pos + reach)

    def division_after(self, pos: int) -> int | None:
        """Where the first division marker at or after ``pos`` starts."""
        i = bisect_left(self.divisions, (pos,))
        return self.divisions[i][0] if i < len(self.divisions) else None

    def sections_in(self, begin: int, pos: int) -> list[Mark]:
        """Section lines starting in ``[begin, pos]``."""
        return list(self.sections[bisect_left(self.sections, (begin,)) : _upto(self.sections, pos)])

    def clauses_in(self, begin: int, pos: int, reach: int) -> list[str]:
        """The clause labels on lines starting at or after ``begin`` whose label starts by
        ``pos`` and ends by ``pos + reach``."""
        found = self.clauses[bisect_left(self.clauses, (begin,)) : _upto(self.clauses, pos)]
        return [label for _, end, label, at in found if at <= pos and end <= pos + reach]


def _upto(marks: tuple[tuple[int, int, str, *tuple[int, ...]], ...], pos: int) -> int:
    """How many of ``marks`` start at or before ``pos``."""
    return bisect_right(marks, (pos, float("inf")))


def _between(marks: tuple[Mark, ...], begin: int, pos: int, end: int) -> list[Mark]:
    found = marks[bisect_left(marks, (begin,)) : _upto(marks, pos)]
    return [m for m in found if m[1] <= end]


@dataclass(frozen=True)
class DocumentStructure:
    entries: tuple[Entry, ...]
    marks: ClauseMarks

    @classmethod
    def parse(cls, text: str) -> DocumentStructure:
        return cls(tuple(parse_entries(text)), ClauseMarks.of(text))

    def to_json(self) -> str:
        m = self.marks
        return json.dumps(
            {
                "version": STRUCTURE_VERSION,
                "entries": [
                    [e.start, e.line_end, e.end, e.rank, e.parent, e.label, e.label_start]
                    for e in self.entries
                ],
                "marks": [m.articles, m.divisions, m.sections, m.clauses],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> DocumentStructure | None:
        """The stored structure, or None when it was stored by another version."""
        data = json.loads(raw)
        if data.get("version") != STRUCTURE_VERSION:
            return None
        entries = tuple(Entry(*row) for row in data["entries"])
        articles, divisions, sections, clauses = (
            tuple(tuple(mark) for mark in part) for part in data["marks"]
        )
        marks = ClauseMarks(articles, divisions, sections, clauses)
        return cls(entries, marks)
