"""How policy text numbers and lays out its parts, shared by the chunker (headings, table
headers), the positional follow-ups (which entry is next, what an entry is called), the clause
locators of citations, the extractive answer (where a quoted item ends), the loader (a markdown
page's front matter) and the indexer (a markdown link counts by its text)."""

import bisect
import re

# A Chinese numeral as headings write it: 三, 十二, 一百零五, 两.
CN_NUM = "[一二三四五六七八九十百零〇两]+"
ROMAN = "[IVXLC]+"

CHAPTER, SECTION, ARTICLE = 10, 11, 12  # levels a follow-up can name (下一条, the next section)

# Structural markers, (level, pattern). A lower level holds the higher ones that follow it;
# markdown headings (levels 1-6) sit above all.
# Inline markers open a part after a line break, a space or a sentence end, since many notices
# run their clauses together on one line ("…。二、加大金融支持…").
INLINE_MARKERS: tuple[tuple[int, str], ...] = (
    (CHAPTER, rf"第{CN_NUM}[编章]|第\d+章"),
    (SECTION, rf"第{CN_NUM}节"),
    (ARTICLE, rf"第{CN_NUM}条"),
    (13, rf"{CN_NUM}[、，．]"),
    (14, rf"[（(]{CN_NUM}[）)]"),
    (15, r"\d{1,2}[.．、](?![\d.．])"),
    (18, r"[（(]\d{1,2}[）)]"),
)
# Line markers open a part only at the start of a line: inside a sentence "Section 3" or "2.1"
# is a reference, not a heading.
LINE_MARKERS: tuple[tuple[int, str], ...] = (
    (CHAPTER, rf"(?:Chapter|CHAPTER|Part|PART)\s+(?:\d+|{ROMAN})\b"),
    (SECTION, r"(?:Section|SECTION|§)\s*\d+(?:\.\d+)*\b|第\d+节"),
    (ARTICLE, rf"(?:Article|ARTICLE)\s+(?:\d+|{ROMAN})\b|第\d+条"),
    (16, r"\d{1,2}\.\d{1,2}(?:\.\d{1,2})?\.?(?=\s+\S)"),
    (18, r"\d{1,2}[)）]"),
)
# Any marker at all, for where a part starts ("^\s*(?:ANY_MARKER)").
ANY_MARKER = "|".join(pattern for _, pattern in INLINE_MARKERS + LINE_MARKERS)
# Every marker with its level, lowest level first: what a line or a sentence starts with.
MARKER_LEVELS = tuple(
    (re.compile(pattern), level) for level, pattern in sorted(INLINE_MARKERS + LINE_MARKERS)
)
# The levels of Arabic inline markers: "31." may instead end an English sentence.
ARABIC_LEVELS = (15, 18)


def leading_marker(text: str) -> tuple[re.Match[str], int] | None:
    """The marker ``text`` starts with (no whitespace before it) and its level, or None."""
    return next(
        ((m, level) for pattern, level in MARKER_LEVELS if (m := pattern.match(text))), None
    )


def marker_level(text: str) -> int | None:
    """The level of the marker ``text`` starts with (after whitespace), or None."""
    found = leading_marker(text.lstrip())
    return found[1] if found else None


def without_marker(label: str) -> str:
    """What a heading calls its part, without the marker it starts with: "第三条 房租减免" is
    "房租减免", "Section 2 Refunds" is "Refunds", a bare "第八条" is ""."""
    stripped = label.strip()
    found = leading_marker(stripped)
    return stripped[found[0].end() :].strip(" \t\u3000、.．:：") if found else stripped


# A markdown link or image, "[text](target)": its text is what it says (what is indexed, and
# what names a list entry).
MARKDOWN_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*(?:\s+\"[^\"\n]*\")?\)")

# The row under a markdown table's header: "| --- | :---: |".
TABLE_SEPARATOR = re.compile(r"\|?[\s:|-]*-[\s:|-]*")

# A fenced code block's opening or closing line: "```sh", "~~~" (CommonMark: up to 3 spaces in).
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})", re.MULTILINE)
# YAML front matter at the very start of a markdown page (Hugo, Jekyll, Docusaurus):
# "---\ntitle: Expenses\n---".
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


class CodeBlocks:
    """The fenced code blocks of a text, and its front matter: a "# Delete old branches"
    comment in a shell block (or a YAML comment in the front matter) is code, not a markdown
    heading, and "1. run this" inside one is no list item. A fence closes on a line of the same
    character at least as long; an unclosed one runs to the end."""

    def __init__(self, text: str) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        front = FRONT_MATTER.match(text)
        if front:
            self._starts.append(0)
            self._ends.append(front.end() - 1)
        opened: re.Match[str] | None = None
        for match in _FENCE.finditer(text, front.end() if front else 0):
            if opened is None:
                opened = match
            elif match.group(1)[0] == opened.group(1)[0] and len(match.group(1)) >= len(
                opened.group(1)
            ):
                line_end = text.find("\n", match.end())
                self._starts.append(opened.start())
                self._ends.append(len(text) if line_end < 0 else line_end)
                opened = None
        if opened is not None:
            self._starts.append(opened.start())
            self._ends.append(len(text))

    def __contains__(self, offset: int) -> bool:
        i = bisect.bisect_right(self._starts, offset) - 1
        return i >= 0 and offset <= self._ends[i]
