"""Abbreviations a user writes and a policy spells out: 社保 for 社会保险, 高企 for 高新技术企业.

A keyword the library never uses weighs the most in a sentence's coverage of the question, so
"社保费可以缓缴吗？" would be refused beside "可缓缴社会保险费". The question is read with the full
form instead, but only when the library never writes the abbreviation and does write the full
form: a library that says 社保 keeps the user's word.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from chatbot.answering.crosslingual import read_table
from index_store.keyword import KeywordIndex, jieba_words, tokenize

ABBREVIATIONS_FILE = Path(__file__).parent / "data" / "abbreviations_zh.tsv"


@lru_cache(maxsize=1)
def abbreviations() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(abbreviation, its full forms), longest abbreviation first."""
    table = [(short, tuple(full)) for short, full in read_table(ABBREVIATIONS_FILE)]
    return tuple(sorted(table, key=lambda entry: -len(entry[0])))


def spelled_out(question: str, library: KeywordIndex) -> str:
    """``question`` with each abbreviation the library never writes replaced by the first of
    its full forms the library does write: all of its character pairs, since jieba may read the
    form as part of a longer word (社会保险 in 社会保险费)."""
    for short, full_forms in abbreviations():
        if short not in question or _written(short, library):
            continue
        written = (f for f in full_forms if _pairs_known(f, library))
        full = next(written, None)
        if full is not None:
            question = _replaced(question, short, full)
    return question


def _replaced(question: str, short: str, full: str) -> str:
    """``question`` with ``short`` read as ``full`` where a word of the question starts with
    it: 个税 is not in 哪几个税种 (哪几个, 税种), nor 高企 in 提高企业. jieba may split an
    abbreviation it does not know (人社局: 人, 社局), so only where it starts counts."""
    starts, at = set(), 0
    for word in jieba_words(question):
        starts.add(at)
        at += len(word)
    pieces, at = [], 0
    while (found := question.find(short, at)) != -1:
        pieces += [question[at:found], full if found in starts else short]
        at = found + len(short)
    return "".join([*pieces, question[at:]])


def _written(short: str, library: KeywordIndex) -> bool:
    """Whether the library writes the abbreviation: as a word or inside one, or, for one of
    three characters or more, in character pairs that jieba may have split it into (省人社厅).
    A two-character one is one pair, which may span two words (提高企业 holds 高企)."""
    return library.writes(short) or (len(short) > 2 and _pairs_known(short, library))


def _pairs_known(text: str, library: KeywordIndex) -> bool:
    """Whether the library holds every character pair of ``text``."""
    return all(library.knows(t) for t in tokenize(text) if t.startswith("_"))
