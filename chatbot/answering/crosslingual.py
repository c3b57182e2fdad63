"""Reading a question against passages in the other language (English and Chinese) through a
glossary of policy terms.

The multilingual embedder finds passages across languages poorly in a library of both (it
prefers its own language's), and its similarity cannot tell whether they answer: a question
about flight refunds scores as high against a subsidy notice as a question the notice answers.
Keyword coverage can, once the question's words are in the passages' language.
``data/glossary_en_zh.tsv`` maps English policy terms to the Chinese words policies use for them;
read backwards, with ``data/glossary_zh_en.tsv``, it maps Chinese words to English ones. With it,
BM25 searches for the question's terms in the other language, and :func:`coverage` is the share
of the question's weight whose meaning a passage holds, a word the glossary does not know
counting as missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chatbot.answering.asking import unframed
from index_store.errors import ConfigError
from index_store.keyword import tokenize
from index_store.language import detect_language
from index_store.records import Chunk, Hit
from index_store.reranker.model import passage_text

GLOSSARY_FILE = Path(__file__).parent / "data" / "glossary_en_zh.tsv"
CHINESE_GLOSSARY_FILE = Path(__file__).parent / "data" / "glossary_zh_en.tsv"
# How many of the best passages must be in another language for the question to count as asked
# across languages; as many are read for how much of its meaning they hold.
CROSS_LANGUAGE_HITS = 3
# The share of a question's weight a passage in the other language must hold to answer it.
MIN_COVERAGE = 0.4
_CJK_WORD = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[A-Za-z0-9]+")
_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")  # IPO, SLA

# Words that frame an English question rather than name what it is about.
# fmt: off
FRAMING_WORDS = frozenset(tokenize(
    "much many long large big high get gets receive obtain give offer provide available need "
    "needs happen happens also please want know tell exactly kind type way ways anything "
    "something someone one within after before during stay still question questions most least "
    "two three four five six seven eight nine ten eleven twelve"  # as numbers are
))
# The same for a Chinese question, once ``unframed`` has taken the words around 多少 and 怎么办.
CHINESE_FRAMING_WORDS = frozenset([
    "一般", "通常", "可以", "能否", "能不能", "能够", "还能", "需要", "提供",
    "获得", "得到", "什么", "哪些", "哪个", "多少", "多久", "多长", "多长时间",
    "什么时候", "多少钱", "几天", "时候", "怎么", "如何", "怎样", "是否",
    "有没有", "具体", "情况", "相关", "有关", "请问", "我们", "我的", "一下",
    "要收", "金额", "数额",
])
# fmt: on
# A token no corpus holds: its IDF is the corpus's highest.
UNSEEN = "\x00"


@dataclass(frozen=True)
class Term:
    """One thing the question asks about: its words as asked, and the words for it in the other
    language (none when the glossary does not know it)."""

    words: tuple[str, ...]
    meanings: tuple[str, ...]


def read_table(path: Path) -> list[tuple[str, list[str]]]:
    """A glossary file's lines as (term, its equivalents); a line without a tab is an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    entries: list[tuple[str, list[str]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        term, tab, equivalents = line.partition("\t")
        if not tab:
            raise ConfigError(
                f"{path}:{number}: a term, a tab, then its equivalents separated by |; got {line!r}"
            )
        entries.append((term.strip(), [w.strip() for w in equivalents.split("|") if w.strip()]))
    return entries


@lru_cache(maxsize=1)
def glossary() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Stemmed English term -> Chinese equivalents; a term listed twice keeps both lists."""
    terms: dict[tuple[str, ...], tuple[str, ...]] = {}
    for english, chinese in read_table(GLOSSARY_FILE):
        key = tuple(tokenize(english))
        if key:
            terms[key] = tuple(dict.fromkeys([*terms.get(key, ()), *chinese]))
    return terms


@lru_cache(maxsize=1)
def chinese_glossary() -> dict[str, tuple[str, ...]]:
    """Chinese word -> English equivalents: ``glossary_zh_en.tsv``, then the English glossary
    read backwards (its Chinese words that are words, not "50%"), except for a word whose
    equivalents start with ``=``: those are all it means. 申请 is "apply for", and read
    backwards it would also be "apply", which "This policy applies to…" holds."""
    words: dict[str, list[str]] = {}
    only: set[str] = set()
    for word, equivalents in read_table(CHINESE_GLOSSARY_FILE):
        if equivalents and equivalents[0].startswith("="):
            only.add(word)
            equivalents = [equivalents[0].removeprefix("=").strip(), *equivalents[1:]]
        words.setdefault(word, []).extend(equivalents)
    for term, chinese in read_table(GLOSSARY_FILE):
        for word in chinese:
            if _CJK_WORD.fullmatch(word) and word not in only:
                words.setdefault(word, []).append(term)
    return {word: tuple(dict.fromkeys(english)) for word, english in words.items()}


@lru_cache(maxsize=64)
def terms(question: str) -> tuple[Term, ...]:
    """A question's terms in order, each the longest glossary match; numbers, and words that
    only frame the question, left out. An acronym the glossary does not know ("IPO", "SLA") is
    written alike in both languages: it is its own meaning. Cached: the retriever, the quote
    and the refusal each read the same question's terms."""
    if detect_language(question) == "zh":
        return tuple(_chinese_terms(question))
    acronyms = (
        set()
        if question.isupper()
        else {s for a in _ACRONYM.findall(question) for s in tokenize(a)}
    )
    words = [w for w in tokenize(question) if (w.isascii() and w.isalpha()) or w in acronyms]
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
            if words[i] in acronyms:
                found.append(Term((words[i],), (words[i],)))
            elif words[i] not in FRAMING_WORDS:
                found.append(Term((words[i],), ()))
            i += 1
    return tuple(found)


def _chinese_terms(question: str) -> list[Term]:
    """A Chinese question's terms: the longest glossary word or framing word at each place of
    the question (a framing word names nothing), then each word of two characters or more
    between them (single characters such as 的 or 内 name nothing either). A word in Latin
    letters ("SLA", "Premium") is its own meaning, as written in English passages."""
    known = chinese_glossary()
    longest = max(map(len, known), default=1)
    text = unframed(question)
    found: list[Term] = []
    rest: list[str] = []
    i = 0
    while i < len(text):
        for n in range(min(longest, len(text) - i), 1, -1):
            word = text[i : i + n]
            if word in known or word in CHINESE_FRAMING_WORDS:
                if word not in CHINESE_FRAMING_WORDS:
                    found.append(Term((word,), known[word]))
                rest.append("，")
                i += n
                break
        else:
            rest.append(text[i])
            i += 1
    unknown = [
        w
        for w in tokenize("".join(rest))
        if len(w) > 1
        and (_CJK_WORD.fullmatch(w) or w.isalnum())
        and not w.isdigit()
        and w not in CHINESE_FRAMING_WORDS
    ]
    return found + [Term((w,), () if _CJK_WORD.match(w) else (w,)) for w in dict.fromkeys(unknown)]


def _holds(text: str, tokens: list[str], meaning: str) -> bool:
    """Whether ``text`` (with its keyword ``tokens``) holds ``meaning``: a Chinese word as it is
    written, English words as the same stemmed words in a row ("delivery fee" is not held by
    "30 days of delivery" and "a restocking fee"), or as written when some are stopwords
    ("no more than")."""
    if not meaning.isascii() or not _WORD.search(meaning):  # 补贴, "%"
        return meaning in text
    stems = tokenize(meaning)
    n = len(stems)
    if n < len(_WORD.findall(meaning)):
        return re.search(rf"(?<!\w){re.escape(meaning)}(?!\w)", text, re.IGNORECASE) is not None
    return _in_a_row(tokens, stems)


def _holds_as_asked(text: str, tokens: list[str], term: Term) -> bool:
    """Whether ``text`` holds a term in the question's own language: its words (Chinese as
    written, English as the same keyword tokens in a row), or a word the glossary gives the
    same meaning (``synonyms``: 在线 for 线上, both "online")."""
    words = term.words
    written = _in_a_row(tokens, list(words)) if words[0].isascii() else "".join(words) in text
    return written or any(_holds(text, tokens, w) for w in synonyms(term))


@lru_cache(maxsize=4096)
def synonyms(term: Term) -> tuple[str, ...]:
    """The words of the term's own language that the glossary gives one of its meanings:
    read there and back (线上 -> online -> 在线, 网上; "refund" -> 退款 -> "money back")."""
    if not term.meanings:
        return ()
    if term.words[0].isascii():
        back = chinese_glossary()
        found = [e for m in term.meanings for e in back.get(m, ())]
    else:
        there = glossary()
        found = [c for m in term.meanings for c in there.get(tuple(tokenize(m)), ())]
    own = " ".join(term.words) if term.words[0].isascii() else "".join(term.words)
    return tuple(w for w in dict.fromkeys(found) if w != own)


def _in_a_row(tokens: list[str], words: list[str]) -> bool:
    """Whether ``words`` (at least one) stand in ``tokens`` one after another."""
    n = len(words)
    return n > 0 and any(tokens[i : i + n] == words for i in range(len(tokens) - n + 1))


def coverage(
    found: Iterable[Term], text: str, weight: Callable[[Term], float], as_asked: bool = False
) -> float:
    """The share of the terms' weight whose meaning ``text`` holds (any of its words for it),
    or with ``as_asked`` the share it holds in the question's own language (``_holds_as_asked``)."""
    found = list(found)
    total = sum(weight(t) for t in found)
    if total <= 0:
        return 0.0
    tokens = tokenize(text)
    if as_asked:
        held = sum(weight(t) for t in found if _holds_as_asked(text, tokens, t))
    else:
        held = sum(weight(t) for t in found if any(_holds(text, tokens, w) for w in t.meanings))
    return held / total


def term_weight(idf: Callable[[str], float]) -> Callable[[Term], float]:
    """A term weighs as its most common meaning's rarest token in the corpus, so a meaning the
    corpus never expresses weighs the most. A term the glossary does not know weighs the most
    too: nothing tells whether the passages in the other language hold it."""

    def weight(term: Term) -> float:
        if not term.meanings:
            return idf(UNSEEN)
        return min(max((idf(t) for t in tokenize(w)), default=0.0) for w in term.meanings)

    return weight


def reachable(found: Iterable[Term], idf: Callable[[str], float]) -> float:
    """The most of the terms' weight a passage can hold: the share of the terms the glossary
    can read (one without words in the other language is never held)."""
    weight = term_weight(idf)
    weights = [(weight(t), bool(t.meanings)) for t in found]
    total = sum(w for w, _ in weights)
    return sum(w for w, known in weights if known) / total if total > 0 else 0.0


def unexpressed(found: Iterable[Term], idf: Callable[[str], float]) -> list[Term]:
    """The terms the glossary knows that no passage of the library can hold: each of their
    words has a token the corpus never uses (character pairs for Chinese words, which do not
    depend on how a sentence was cut into words). A library that never says 增值税 cannot
    answer about VAT, however much of the rest of the question a passage holds."""
    unseen = idf(UNSEEN)

    def used(word: str) -> bool:
        tokens = tokenize(word)
        pairs = [t for t in tokens if t.startswith("_")]
        return all(idf(t) < unseen for t in pairs or tokens)

    return [t for t in found if t.meanings and not any(used(w) for w in t.meanings)]


def asked_across(question: str, hits: list[Hit], language: str | None = None) -> bool:
    """Whether the question is in another language than all its best passages (an English
    question over a library of Chinese policies, or the reverse). A word both write alike
    ("IPO", "SLA") does not make it one language: such a word is its own meaning (``terms``)."""
    hits = hits[:CROSS_LANGUAGE_HITS]
    language = language or detect_language(question)
    return bool(hits) and all(detect_language(h.chunk.text) != language for h in hits)


def keywords(found: Iterable[Term]) -> str:
    """What BM25 searches for a question asked across languages: the other language's words of
    every term (``terms``) the glossary knows."""
    return " ".join(w for t in found for w in t.meanings)


def best_coverage(
    found: Iterable[Term],
    chunks: Iterable[Chunk],
    idf: Callable[[str], float],
    as_asked: bool = False,
) -> float:
    """The best share of the terms' meaning that one of the passages holds (title path
    included); with ``as_asked``, in the question's own language. Both weigh the same terms
    alike, so a passage in each language can be compared."""
    weight = term_weight(idf)
    found = list(found)
    texts = (passage_text(c.heading_path, c.text) for c in chunks)
    return max((coverage(found, t, weight, as_asked) for t in texts), default=0.0)
