"""Text normalisation shared by ingest (what is indexed) and eval (what gold spans are read in)."""

from __future__ import annotations

import re

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t\u3000]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Unify line ends, drop zero-width characters and trailing blanks, cap blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ZERO_WIDTH.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _MANY_BLANK_LINES.sub("\n\n", text)
    return text.strip()
