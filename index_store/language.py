"""Which language a text is in: user-facing text follows the user's, and chunk sizes follow a
document's."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def detect_language(text: str) -> str:
    """``"zh"`` when the text has Chinese characters and they are not a small minority among
    Latin letters, else ``"en"``."""
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    return "zh" if cjk and cjk >= latin_words else "en"
