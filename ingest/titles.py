"""A loaded document's title, and the last check every loader makes."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from index_store.errors import LoadError
from index_store.numbering import FRONT_MATTER
from index_store.records import SourceDocument

_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_TITLE_MAX = 80
# A Chinese notice copied from a web page as one line opens with its title, then a space and
# the addressees or the text: "…若干措施的通知 各设区市人民政府，…".
_OPENING_TITLE = re.compile(
    r"^\S{4,78}?(?:通知|办法|措施|意见|方案|规定|细则|条例|决定|公告|通告|批复|指引|指南)(?=\s)"
)
# A first line that is a sentence names nothing: "Last updated: March 3, 2014. To see what has
# changed, click here." A title ends without a full stop, or is a few words ("Acme Inc.").
_SENTENCE_LINE = re.compile(r".*[。！；;!]|(?:\S+\s+){5,}\S*\.")


def guess_title(text: str, fallback: str) -> str:
    """The ``title:`` of a markdown page's front matter, else its first markdown heading, else a
    short first line that is no sentence, else the policy title a long first line opens with,
    else ``fallback``."""
    front = FRONT_MATTER.match(text)
    if front:
        found = _FRONT_TITLE.search(front.group(1) or "")
        title = found.group(1).strip("\"' ") if found else ""
        if title:
            return title[:_TITLE_MAX]
        text = text[front.end() :]
    match = _MD_HEADING.search(text[:2000])
    if match:
        return match.group(1).strip()[:_TITLE_MAX]
    for line in text.splitlines():
        line = line.strip()
        if line:
            if len(line) <= _TITLE_MAX:
                return fallback if _SENTENCE_LINE.fullmatch(line) else line
            opening = _OPENING_TITLE.match(line)
            return opening.group() if opening else fallback
    return fallback


def finish(doc: SourceDocument, path: Path) -> SourceDocument:
    """``doc`` with a title (guessed from its text when the file names none); a file with
    no text fails with reason ``empty``."""
    if not doc.text.strip():
        raise LoadError("empty", f"{path.name}: the file holds no text")
    return replace(doc, title=doc.title or guess_title(doc.text, path.stem))
