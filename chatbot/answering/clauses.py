"""Clause-exact locators: "第三章 第十二条 第二款", "Section 4.2(b)", built from a chunk's heading
path and the position of the quoted sentence in the document."""

from __future__ import annotations

import re

from index_store.numbering import CN_NUM as _CN_NUM
from index_store.records import page_label
from index_store.structure import ClauseMarks
from index_store.table_rows import parse_row

_CN_DIVISION = re.compile(rf"^(第{_CN_NUM}[编章节条]|第\d+章)")
_CN_ITEM = re.compile(rf"^[（(]({_CN_NUM})[）)]")
_CN_SUBITEM = re.compile(r"^(\d{1,2})[.．、]")
_EN_DIVISION = re.compile(
    r"^((?:Chapter|CHAPTER|Part|PART|Section|SECTION|Article|ARTICLE|§)\s*[\dIVXLC]+(?:\.\d+)*)"
)
_EN_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})+)\b")
_EN_NUMBER = re.compile(r"[\dIVXLC]+(?:\.\d+)*$")
# A Chinese section name ("四、办理流程").
_CN_SECTION = re.compile(rf"^{_CN_NUM}、")
_EN_SUBCLAUSE = re.compile(r"^\s*\(?([a-z]|[ivx]{1,4})\)\s")
_ITEM_LINE = re.compile(rf"^\s*(?:[（(]{_CN_NUM}[）)]|[（(]?\d{{1,2}}[.．、)）])")
_SENTENCE_PUNCT = re.compile(r"[。；;！？!?，,]")


def _part(label: str) -> tuple[str, bool]:
    """The citable part of one heading label, and whether it is Chinese."""
    if match := _CN_DIVISION.match(label):
        return match.group(1), True
    if match := _CN_ITEM.match(label):
        return f"第（{match.group(1)}）项", True
    if match := _EN_DIVISION.match(label):
        return match.group(1), False
    if match := _EN_NUMBERED.match(label):
        return f"Section {match.group(1)}", False
    if match := _CN_SUBITEM.match(label):
        return f"第{match.group(1)}目", True
    return label, not label.isascii()


# An article marker counts when it starts by the quote's position and ends within this many
# characters after it (a quote may begin with its marker).
_ARTICLE_REACH = 12
# A clause label counts when it starts by the quote's position and ends within this many
# characters after it.
_CLAUSE_REACH = 40


def _paragraph(text: str, marks: ClauseMarks, quote_pos: int) -> str:
    """ "第N款" when the article holding ``quote_pos`` has several paragraphs, else ""."""
    articles = marks.articles_in(0, quote_pos, _ARTICLE_REACH)
    if not articles:
        return ""
    begin = articles[-1][0]
    following = marks.division_after(quote_pos + 1)
    end = following if following is not None else len(text)
    lines = _lines(text, begin, end)
    # A first line that only names the article ("第四条 稳岗返还") is no paragraph, and
    # list items ("（一）", "1.") belong to the paragraph above them.
    first = lines[0][1] if lines else ""
    if first and len(first) <= 20 and not _SENTENCE_PUNCT.search(first):
        lines = lines[1:]
    paragraphs = [i for i, line in lines if not _ITEM_LINE.match(line)]
    if len(paragraphs) < 2:
        return ""
    number = sum(1 for i in paragraphs if i <= quote_pos)
    return f"第{_cn_ordinal(number)}款" if number else ""


def _lines(text: str, begin: int, end: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pos = begin
    for line in text[begin:end].split("\n"):
        if line.strip():
            out.append((pos, line.strip()))
        pos += len(line) + 1
    return out


def _cn_ordinal(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")


def _english(names: list[str]) -> list[str]:
    """ "Section 2, Section 2.1" -> "Section 2.1": a dotted number already names its parents."""
    if names and re.search(r"\d+\.\d+", names[-1]):
        return names[-1:]
    return names


def _article_at(marks: ClauseMarks, chunk_start: int, quote_pos: int) -> str:
    """The 第N条 holding ``quote_pos`` when it starts inside the chunk (a chunk that merged
    "第一章 总则" with its first article has only the chapter in its heading path)."""
    starts = marks.articles_in(chunk_start, quote_pos, _ARTICLE_REACH)
    return starts[-1][2] if starts else ""


def _cn_section_at(marks: ClauseMarks, chunk_start: int, quote_pos: int) -> str:
    """The Chinese section heading ("四、办理流程") over ``quote_pos`` (or on its line) when its
    line starts inside the chunk (short sections merge into one chunk whose heading path stops
    at the title)."""
    found = marks.sections_in(chunk_start, quote_pos)
    return found[-1][2] if found else ""


def _en_clause_at(marks: ClauseMarks, chunk_start: int, quote_pos: int) -> str:
    """The English division or numbered clause holding ``quote_pos`` when its line starts
    inside the chunk (a chunk that merged "2.1" and "2.2" has only "Section 2" in its path)."""
    found = marks.clauses_in(chunk_start, quote_pos, _CLAUSE_REACH)
    return _part(found[-1])[0] if found else ""


def _nest(names: list[str], clause: str) -> list[str]:
    """``names`` with the clause that holds the quote: "Section 2" + "Section 2.1" nest (and
    ``_english`` keeps the dotted one); a clause of the same depth replaces its sibling."""
    if not names:
        return [clause]
    last, new = _EN_NUMBER.search(names[-1]), _EN_NUMBER.search(clause)
    if clause == names[-1] or last is None or new is None:
        return names
    if new.group().startswith(last.group() + "."):
        return [*names, clause]
    if new.group().count(".") == last.group().count("."):
        return [*names[:-1], clause]
    return names


def _is_table_row(text: str, pos: int) -> bool:
    line_end = text.find("\n", pos)
    return parse_row(text[pos : line_end if line_end >= 0 else len(text)]) is not None


def _names_at(
    names: list[str], text: str, marks: ClauseMarks, pos: int, chunk_start: int, chinese: bool
) -> list[str]:
    """The heading path's ``names`` made exact for the text at ``pos``: the article, section,
    款 or sub-clause the chunk's path is too coarse to name."""
    names = list(names)
    if _is_table_row(text, pos):
        return names  # a table row's heading path ends at its table: nothing finer to find
    if chinese:
        if not any(n.endswith("条") for n in names):
            if article := _article_at(marks, chunk_start, pos):
                names.append(article)
            elif section := _cn_section_at(marks, chunk_start, pos):
                # It takes the place of the section the path names (where the chunk starts)
                # and of whatever the path names under that one.
                kept = next((i for i, n in enumerate(names) if _CN_SECTION.match(n)), len(names))
                names = [*names[:kept], section]
        if any(n.endswith("条") for n in names) and (paragraph := _paragraph(text, marks, pos)):
            names.append(paragraph)
        return names
    if clause := _en_clause_at(marks, chunk_start, pos):
        names = _nest(names, clause)
    line_start = text.rfind("\n", 0, pos + 1) + 1
    sub = _EN_SUBCLAUSE.match(text[line_start : line_start + 12])
    if sub and names:
        names[-1] += f"({sub.group(1)})"
    elif sub:
        names.append(f"({sub.group(1)})")
    return names


def _shared(first: list[str], last: list[str]) -> list[str]:
    """The innermost entry holding both ends of a quote: the names both ends lie in (a quote
    over both 款 of 第七条 is in 第七条; one over 第一条 and 第二条, in neither)."""
    shared = 0
    while shared < min(len(first), len(last)) and first[shared] == last[shared]:
        shared += 1
    return first[:shared]


def clause_locator(
    heading_path: tuple[str, ...],
    text: str | None,
    quote_pos: int | None,
    page: int | None,
    chunk_start: int = 0,
    quote_end: int | None = None,
    marks: ClauseMarks | None = None,
) -> str:
    """Where the quote sits, as a citation names it: the innermost entry that holds all of
    it. ``heading_path`` starts with the title; ``text`` is the whole document, ``quote_pos``
    and ``quote_end`` the quote's offsets (None when unknown: then the locator stops at the
    heading path, without 款 or sub-clause); ``marks`` the document's markers as stored at
    ingest (parsed from ``text`` when not given)."""
    parts = [_part(label) for label in heading_path[1:]]
    chinese = any(cn for _, cn in parts) or not heading_path[:1] or not heading_path[0].isascii()
    names = [name for name, _ in parts]
    if text is not None and quote_pos is not None:
        marks = marks or ClauseMarks.of(text)
        first = _names_at(names, text, marks, quote_pos, chunk_start, chinese)
        last_line = quote_pos
        if quote_end is not None and quote_end > quote_pos:
            last_line = max(quote_pos, text.rfind("\n", quote_pos, quote_end - 1) + 1)
        last = _names_at(names, text, marks, last_line, chunk_start, chinese)
        names = _shared(first, last)
    if not chinese:
        names = _english(names)
    if page is not None:
        names.append(page_label(page, chinese))
    return (" " if chinese else ", ").join(names)
