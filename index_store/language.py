"""Which language a text is in: user-facing text follows the user's, and sizes counted in
characters (passages, quoted answers) follow the text's."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Markup is no language of the user's: HTML tags and entities, links, code spans and markdown
# link targets are left out before the words are counted.
_MARKUP = re.compile(r"<[^<>]{0,300}>|&[A-Za-z]+;|\w+://\S+|`[^`]*`|\]\([^)]*\)")
# Characters of Latin-script text per character of Chinese, for about as many model tokens:
# multilingual-e5's tokenizer gives 0.20-0.24 tokens per character on the English eval sets and
# 0.66 on the Chinese ones. Sizes in characters are set for Chinese text and scaled by this.
LATIN_SCALE = 3


def detect_language(text: str) -> str:
    """``"zh"`` when the text has Chinese characters and they are not a small minority among
    Latin letters, else ``"en"``."""
    text = _MARKUP.sub(" ", text)
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    return "zh" if cjk and cjk >= latin_words else "en"


def char_scale(text: str) -> int:
    """How many characters of ``text`` make as many model tokens as one Chinese character: 1
    for Chinese, ``LATIN_SCALE`` for text in Latin script."""
    return 1 if detect_language(text) == "zh" else LATIN_SCALE
