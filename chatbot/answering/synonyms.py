"""Words that mean the same in policy text: a user's 扶持 is a policy's 支持 (第二章 支持措施), and
the sentence that writes one holds the other. Read from ``data/synonyms_zh.tsv``."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from chatbot.answering.crosslingual import read_table

SYNONYMS_FILE = Path(__file__).parent / "data" / "synonyms_zh.tsv"


@lru_cache(maxsize=1)
def _canonical() -> dict[str, str]:
    """Each word of a group, and its character pair as the keyword tokenizer writes it (_支持),
    mapped to the group's first word's."""
    canonical: dict[str, str] = {}
    for word, others in read_table(SYNONYMS_FILE):
        for other in (word, *others):
            canonical[other] = word
            if len(other) == 2:
                canonical["_" + other] = "_" + word
    return canonical


def same_words(tokens: Iterable[str], wanted: set[str]) -> set[str]:
    """The tokens of ``wanted`` that ``tokens`` hold as themselves or as a synonym."""
    canonical = _canonical()
    held = {canonical.get(t, t) for t in tokens}
    return {t for t in wanted if canonical.get(t, t) in held}
