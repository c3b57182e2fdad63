"""Structure-aware chunking for policy text.

Headings and clause markers (第一章, 第一条, 一、, （一）, 1., （1）, markdown ``#``, English
Chapter/Section/Article and ``3.2`` numbering) start new units, found at line starts and also
inline after a sentence end or a space, because many notices arrive as one long line. Each unit
keeps its heading path. Long units split on sentence boundaries with a small overlap; tiny units
merge with their neighbours. Text with no markers at all (news-style prose) is just a single unit
split on sentences, so it still chunks well. Sizes are in characters of Chinese text; a document
in Latin script gets three times as many characters, about as many model tokens.

llama-index's ``SentenceSplitter`` is not used: it counts tokens with a tokenizer that knows
nothing of Chinese clauses and carries no heading path.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from index_store.language import char_scale
from index_store.numbering import (
    ARABIC_LEVELS,
    INLINE_MARKERS,
    LINE_MARKERS,
    TABLE_SEPARATOR,
    CodeBlocks,
)
from index_store.records import ChunkDraft, SourceDocument, TableSpan
from index_store.settings import Settings

_MARKER_RE = re.compile(
    # A marker counts at the start of the text, after a line break or space, or right after a
    # sentence end; never in the middle of a sentence ("按照本办法第十条规定" is no heading).
    r"(?:(?<=^)|(?<=[\n \t\u3000。；;！!？?：:]))(?:"
    + "|".join(f"(?P<m{i}>{p})" for i, (_, p) in enumerate(INLINE_MARKERS))
    + ")",
    re.MULTILINE,
)
_LINE_RE = re.compile(
    r"^[ \t]*(?:(?P<md>#{1,6})\s+|"
    + "|".join(f"(?P<l{i}>{p})" for i, (_, p) in enumerate(LINE_MARKERS))
    + ")",
    re.MULTILINE,
)
_WORD_SPACE = re.compile(r"[A-Za-z0-9][ \t]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’」』)）]*|\.(?=\s)|\n+")
_CLAUSE_END = re.compile(r"[，、,:：]")
_ROW_START = re.compile(r"[ \t]*\|")
_TITLE_STOP = re.compile(r"[\s。；;！？!?，,：:、]")
_LABEL_MAX = 30


@dataclass(frozen=True)
class Marker:
    start: int
    level: int
    label: str


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    path: tuple[str, ...]
    # Paths of the units merged into this one that hold body text, not just a heading.
    content_paths: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ChunkingConfig:
    size: int = 300
    overlap: int = 50
    min_chars: int = 60

    @classmethod
    def from_settings(cls, settings: Settings) -> ChunkingConfig:
        return cls(settings.chunk_size, settings.chunk_overlap, settings.min_chunk_chars)

    def for_text(self, text: str) -> ChunkingConfig:
        """The sizes for a document of this text: as they are for Chinese, ``LATIN_SCALE``
        times as many characters in Latin script, so that a passage holds about as many tokens.
        Measured on the handbook, 900-character English passages found the evidence more often
        than 300- or 600-character ones (docs/experiments/quality-notes.md)."""
        k = char_scale(text)
        return ChunkingConfig(self.size * k, self.overlap * k, self.min_chars * k)


def _label(text: str, start: int, marker_end: int) -> str:
    """Marker plus its short title ("二、支持措施", "Section 3.2 Refunds"); the bare marker
    when what follows reads as a sentence rather than a title."""
    marker = text[start:marker_end].strip()
    rest = text[marker_end : marker_end + _LABEL_MAX + 2]
    if rest[:1].isspace():
        # "Section 3.2 Refunds\n" is a heading line; "第五条 企业应当……。" is a clause.
        stripped = rest.lstrip(" \t\u3000")
        line_end = stripped.find("\n")
        title = stripped if line_end < 0 else stripped[:line_end]
        is_title = (line_end >= 0 or marker_end + len(rest) >= len(text)) and not re.search(
            r"[。；;！？!?，,]", title
        )
    else:
        stop = _TITLE_STOP.search(rest)
        title = rest[: stop.start()] if stop else rest
        is_title = stop is not None and stop.group() not in "，,；;、"
    if not is_title or not title.strip() or len(title) > _LABEL_MAX:
        return marker
    return re.sub(
        r"\s+", " ", f"{marker} {title.strip()}" if rest[:1].isspace() else marker + title
    )


def find_markers(text: str) -> list[Marker]:
    """All structural markers in ``text``, in order; none inside a fenced code block or the
    front matter (``CodeBlocks``)."""
    found: dict[int, Marker] = {}
    code = CodeBlocks(text)
    for match in _LINE_RE.finditer(text):
        if match.start() in code:
            continue
        if match.group("md"):
            level = len(match.group("md"))
            line_end = text.find("\n", match.end())
            label = text[match.end() : line_end if line_end >= 0 else len(text)].strip()
            found[match.start()] = Marker(match.start(), level, label[:80])
            continue
        for i, (level, _) in enumerate(LINE_MARKERS):
            if match.group(f"l{i}"):
                begin = match.start(f"l{i}")
                found[begin] = Marker(begin, level, _label(text, begin, match.end()))
                break
    md_lines = [
        (m.start, text.find("\n", m.start) % (len(text) + 1))
        for m in found.values()
        if m.level <= 6
    ]
    for match in _MARKER_RE.finditer(text):
        if match.start() in found or any(a <= match.start() < b for a, b in md_lines):
            continue  # "## 二、奖励标准" is one heading, not two
        if match.start() in code:
            continue
        for i, (level, _) in enumerate(INLINE_MARKERS):
            if match.group(f"m{i}"):
                if level in ARABIC_LEVELS and _ends_a_sentence(text, match.start(), match.end()):
                    break
                found[match.start()] = Marker(
                    match.start(), level, _label(text, match.start(), match.end())
                )
                break
    return [found[k] for k in sorted(found)]


def _ends_a_sentence(text: str, start: int, end: int) -> bool:
    """Whether an inline "31." is a number closing an English sentence ("to January 31. The
    fiscal year…") rather than a list marker: it follows a word and a space, and no Chinese
    comes right after it ("电话：0771 2.网络捐款" and "GB 19083-2010 2. N95口罩" are markers)."""
    after = text[end : end + 6]
    return bool(_WORD_SPACE.fullmatch(text[max(0, start - 2) : start])) and not _CJK.search(after)


def split_units(text: str, title: str, tables: Sequence[TableSpan] = ()) -> list[Unit]:
    """Cut ``text`` at its markers (none inside a table's rows); each unit carries its heading
    path below ``title``."""
    markers = [m for m in find_markers(text) if not any(t.start <= m.start < t.end for t in tables)]
    units: list[Unit] = []
    stack: list[Marker] = []
    if not markers or markers[0].start > 0:
        first_end = markers[0].start if markers else len(text)
        units.append(Unit(0, first_end, (title,), ((title,),)))
    for i, marker in enumerate(markers):
        while stack and stack[-1].level >= marker.level:
            stack.pop()
        stack.append(marker)
        end = markers[i + 1].start if i + 1 < len(markers) else len(text)
        labels = [m.label for m in stack]
        if labels and labels[0] == title:  # a markdown "# Title" repeats the document title
            labels = labels[1:]
        path = (title, *labels)
        body = text[marker.start : end].strip()
        if marker.level <= 6:  # "## Refunds" is heading only: its label leaves out the #s
            body = body.lstrip("#").lstrip()
        heading_only = len(re.sub(r"\s+", " ", body)) <= len(marker.label) + 2
        units.append(Unit(marker.start, end, path, () if heading_only else (path,)))
    return [u for u in units if text[u.start : u.end].strip()]


def _boundaries(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[int]:
    return [m.end() for m in pattern.finditer(text, start, end) if start < m.end() < end]


def _windows(text: str, start: int, end: int, cfg: ChunkingConfig) -> Iterator[tuple[int, int]]:
    """Split ``[start, end)`` into windows of at most ``cfg.size`` characters, cut at sentence
    ends (else clause ends, else anywhere), each overlapping the previous by about
    ``cfg.overlap`` characters, starting on a sentence or clause boundary."""
    sentences = _boundaries(text, start, end, _SENTENCE_END)
    clauses = sorted(set(sentences) | set(_boundaries(text, start, end, _CLAUSE_END)))
    pos = start
    while end - pos > cfg.size:
        limit = pos + cfg.size
        cut = max((b for b in sentences if pos < b <= limit), default=None)
        if cut is None or cut - pos < cfg.size // 3:
            cut = max((b for b in clauses if pos < b <= limit), default=limit)
        yield pos, cut
        if cfg.overlap:
            back = [b for b in clauses if cut - cfg.overlap <= b < cut and b > pos]
            pos = min(back) if back else cut
        else:
            pos = cut
    yield pos, end


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    common = paths[0]
    for path in paths[1:]:
        n = 0
        while n < min(len(common), len(path)) and common[n] == path[n]:
            n += 1
        common = common[:n]
    return common


def _siblings(a: Unit, b: Unit) -> bool:
    """True when ``b`` sits under the same parent heading as ``a`` (or under ``a`` itself)."""
    return len(_common_prefix([a.path, b.path])) >= min(len(a.path), len(b.path)) - 1


def _merge_small(units: list[Unit], cfg: ChunkingConfig) -> list[Unit]:
    """Attach headings to what follows them, and short clauses to the sibling before them.

    A heading-only unit ("第二章 支持措施") joins the next unit. A unit still shorter than
    ``cfg.min_chars`` joins the previous one when both share a parent heading and the result
    fits ``cfg.size``; short clauses never merge across a chapter. The merged path is the
    common prefix of the paths of the units that carry body text.
    """
    out: list[Unit] = []
    pending: Unit | None = None
    for unit in units:
        headed = False
        if pending is not None:
            if unit.end - pending.start <= cfg.size:
                unit, headed = _join(pending, unit), True
            else:
                out.append(pending)
            pending = None
        if not unit.content_paths:
            pending = unit
        elif (
            unit.end - unit.start < cfg.min_chars
            and not headed
            and out
            and unit.end - out[-1].start <= cfg.size
            and _siblings(out[-1], unit)
        ):
            out[-1] = _join(out[-1], unit)
        else:
            out.append(unit)
    if pending is not None:
        if out and pending.end - out[-1].start <= cfg.size:
            out[-1] = _join(out[-1], pending)
        else:
            out.append(pending)
    return out


def _join(first: Unit, second: Unit) -> Unit:
    content = [p for u in (first, second) for p in u.content_paths]
    path = _common_prefix(content) if content else second.path
    return Unit(first.start, second.end, path, tuple(content))


def _table_pieces(
    text: str, unit: Unit, tables: Sequence[TableSpan], paths: dict[int, tuple[str, ...]]
) -> Iterator[tuple[int, int, tuple[str, ...], bool]]:
    """``unit`` cut around the tables inside it: (start, end, path, is_table). A table's piece
    takes in a short run of text before it (its heading, its caption) and its path is the
    table's own heading path (``paths``, by table start) plus its caption."""
    pos = unit.start
    for table in tables:
        if table.end <= pos or table.start >= unit.end:
            continue
        start = max(table.start, pos)
        before = text.rfind("\n", pos, max(start - 1, pos))
        if start == table.start and len(text[pos:start].strip()) <= _LABEL_MAX * 2:
            start = pos  # "二、补贴标准\n表1 稳岗补贴标准" joins its table
        elif start == table.start and text[before + 1 : start].strip() == table.caption:
            start = before + 1
        if start > pos:
            yield pos, start, unit.path, False
        own = paths.get(table.start, unit.path)
        path = own if table.caption in own[-1:] else (*own, table.caption)
        end = min(table.end, unit.end)
        yield start, end, path, True
        pos = end
    if pos < unit.end:
        yield pos, unit.end, unit.path, False


def _row_windows(text: str, start: int, end: int, cfg: ChunkingConfig) -> Iterator[tuple[int, int]]:
    """Windows of whole rows (lines), up to ``cfg.size`` characters each; a row longer than
    that is a window of its own, never cut."""
    pos = line_start = start
    while line_start < end:
        newline = text.find("\n", line_start, end)
        line_end = end if newline < 0 else newline + 1
        if line_end - pos > cfg.size and line_start > pos:
            yield pos, line_start
            pos = line_start
        line_start = line_end
    if pos < end:
        yield pos, end


def chunk_document(doc: SourceDocument, cfg: ChunkingConfig) -> list[ChunkDraft]:
    """Cut a document into chunks along its structure, tables between rows only, never across
    a page break. Offsets index ``doc.text``."""
    text = doc.text
    cfg = cfg.for_text(text)
    drafts: list[ChunkDraft] = []
    units = split_units(text, doc.title, doc.tables)
    paths = {
        t.start: next((u.path for u in units if u.start <= t.start < u.end), (doc.title,))
        for t in doc.tables
    }
    for unit in _merge_small(units, cfg):
        for p_start, p_end, path, is_table in _table_pieces(text, unit, doc.tables, paths):
            windows = _row_windows if is_table else _windows
            for window in windows(text, p_start, p_end, cfg):
                for w_start, w_end in _on_pages(window, doc.page_starts):
                    start, end = _trimmed(text, w_start, w_end)
                    if start < end:
                        page = doc.page_at(start)
                        drafts.append(ChunkDraft(text[start:end], start, end, path, page))
    return drafts


def _on_pages(window: tuple[int, int], page_starts: Sequence[int]) -> list[tuple[int, int]]:
    """``window`` cut where a page starts: a chunk lies on one page, so every quote from it
    is cited with the page it is on."""
    start, end = window
    cuts = [p for p in page_starts if start < p < end]
    bounds = [start, *cuts, end]
    return list(itertools.pairwise(bounds))


def table_header(text: str, start: int) -> str | None:
    """The header row of the markdown table whose row ``text[start:]`` begins with, when the
    header lies before ``start``: a passage cut from the middle of a long table keeps its
    column names ("Member | Channel") for the embedder and the keyword index. None when
    ``start`` is not at a table row or the table has no header row."""
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip() or not _ROW_START.match(text, start):
        return None
    rows: list[str] = []  # the table's rows above start, nearest first
    end = line_start - 1
    while end > 0:
        row_start = text.rfind("\n", 0, end) + 1
        if not text[row_start:end].lstrip().startswith("|"):
            break
        rows.append(text[row_start:end])
        end = row_start - 1
    if len(rows) < 2 or not TABLE_SEPARATOR.fullmatch(rows[-2].strip()):
        return None
    return rows[-1].strip()
