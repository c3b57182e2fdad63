"""Reading an English question against Chinese passages through a glossary of policy terms.

The multilingual embedder finds the Chinese passages for an English question, but its similarity
cannot tell whether they answer it: a question about flight refunds scores as high against a
subsidy notice as a question the notice answers. Keyword coverage can, once the question's words
are in the passages' language. ``data/glossary_en_zh.tsv`` maps English policy terms to the
Chinese words policies use for them. With it, BM25 searches for the question's terms in Chinese,
and :func:`coverage` is the share of the question's weight whose meaning a passage holds, an
English word the glossary does not know counting as missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chatbot.answering.asking import question_tokens
from index_store.errors import ConfigError
from index_store.keyword import tokenize
from index_store.language import detect_language
from index_store.records import Hit

GLOSSARY_FILE = Path(__file__).parent / "data" / "glossary_en_zh.tsv"
# How many of the best passages must be in another language, sharing no word with the question,
# for it to count as asked across languages.
CROSS_LANGUAGE_HITS = 3

# Words that frame an English question rather than name what it is about.
# fmt: off
FRAMING_WORDS = frozenset(tokenize(
    "much many long large big high get gets receive obtain give offer provide available need "
    "needs happen happens also please want know tell exactly kind type way ways anything "
    "something someone one within after before during stay still question questions"
))
# fmt: on


@dataclass(frozen=True)
class Term:
    """One thing the question asks about: its English words, and the Chinese words for it
    (none when the glossary does not know it)."""

    english: tuple[str, ...]
    chinese: tuple[str, ...]


@lru_cache(maxsize=1)
def glossary() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Stemmed English term -> Chinese equivalents; a term listed twice keeps both lists."""
    terms: dict[tuple[str, ...], tuple[str, ...]] = {}
    lines = GLOSSARY_FILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        english, tab, chinese = line.partition("\t")
        if not tab:
            raise ConfigError(
                f"{GLOSSARY_FILE}:{number}: an English term, a tab, then its Chinese words "
                f"separated by |; got {line!r}"
            )
        key = tuple(tokenize(english))
        if key:
            options = [w for w in chinese.split("|") if w]
            terms[key] = tuple(dict.fromkeys([*terms.get(key, ()), *options]))
    return terms


def terms(question: str) -> list[Term]:
    """An English question's terms, longest glossary match first; numbers, and words that only
    frame the question, left out. No terms for a question in another language: the glossary
    reads English only."""
    if detect_language(question) != "en":
        return []
    words = [w for w in tokenize(question) if w.isascii() and w.isalpha()]
    known = glossary()
    longest = max(map(len, known), default=1)
    found: list[Term] = []
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            key = tuple(words[i : i + n])
            if key in known:
                found.append(Term(key, known[key]))
                i += n
                break
        else:
            if words[i] not in FRAMING_WORDS:
                found.append(Term((words[i],), ()))
            i += 1
    return found


def coverage(found: Iterable[Term], text: str, weight: Callable[[Term], float]) -> float:
    """The share of the terms' weight whose meaning ``text`` holds (any of its Chinese words)."""
    found = list(found)
    total = sum(weight(t) for t in found)
    if total <= 0:
        return 0.0
    held = sum(weight(t) for t in found if any(w in text for w in t.chinese))
    return held / total


def term_weight(idf: Callable[[str], float]) -> Callable[[Term], float]:
    """A term weighs as its most common Chinese word's rarest token in the corpus, so a meaning
    the corpus never expresses weighs the most. A term the glossary does not know weighs as its
    English word does (in Chinese policies: as a word they never use)."""

    def weight(term: Term) -> float:
        if not term.chinese:
            return max(idf(w) for w in term.english)
        return min(max((idf(t) for t in tokenize(w)), default=0.0) for w in term.chinese)

    return weight


def asked_across(question: str, hits: list[Hit], language: str | None = None) -> bool:
    """Whether the question is in another language than its best passages and shares no
    keyword with them (an English question over Chinese policies)."""
    hits = hits[:CROSS_LANGUAGE_HITS]
    language = language or detect_language(question)
    if not hits or any(detect_language(h.chunk.text) == language for h in hits):
        return False
    asked = {t for t in question_tokens(question) if not t.isdigit()}  # years, amounts
    return not any(asked & set(tokenize(h.chunk.text)) for h in hits)


def keywords(question: str) -> str:
    """What BM25 searches for a question asked across languages: the Chinese words of every
    term the glossary knows."""
    return " ".join(w for t in terms(question) for w in t.chinese)
