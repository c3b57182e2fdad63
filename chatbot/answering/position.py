"""Follow-ups that point at a position in a list: "And the next one?", "What about the one
above?", "下一条呢？".

The previous question found an entry of a document: a table row, a list item, a numbered clause
or a section. The follow-up asks about the entry beside it, which no search for the follow-up's
own words can find. Entries (``index_store.entries``: markdown headings, numbered clauses at the
markers the chunker cuts at, bullets, nesting by rank; table rows, siblings within their table)
are parsed once at ingest and read from the index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal, Protocol

from chatbot.answering.asked import Asked, Evidence
from chatbot.answering.extractive import (
    RANK_DECAY,
    IdfFn,
    Sentence,
    keyword_weight,
    score_sentences,
    split_sentences,
)
from index_store.entries import ROW_RANK, Entry, entry_name
from index_store.keyword import KeywordIndex, tokenize
from index_store.language import detect_language
from index_store.numbering import (
    ARTICLE,
    CHAPTER,
    SECTION,
)
from index_store.records import Chunk, Hit
from index_store.structure import DocumentStructure

if TYPE_CHECKING:
    from chatbot.answering.documents import Library
    from chatbot.answering.evidence import EvidenceFinder
    from chatbot.answering.retrieval import HybridRetriever

Direction = Literal["next", "previous", "last"]

_NOUN = (
    r"(?:one|item|entry|row|type|category|level|step|section|chapter|article|clause|bullet|point)s?"
)
_ZH_NOUN = "[个条项款类种位章节]"
_DIRECTIONS: tuple[tuple[Direction, re.Pattern[str]], ...] = (
    (
        "last",
        re.compile(rf"\b(?:last|final) (?:{_NOUN}|listed)\b|\bthe last\W*$|最后一{_ZH_NOUN}", re.I),
    ),
    (
        "previous",
        re.compile(
            rf"\b(?:previous|preceding) (?:{_NOUN}|listed)\b|\bthe (?:previous|preceding)\W*$"
            rf"|\b{_NOUN} (?:above|before)\b"
            rf"|\b(?:above|before) (?:it|that|this)\b|[上前]一{_ZH_NOUN}"
            r"|上面(?:那|一)[个条项]",
            re.I,
        ),
    ),
    (
        "next",
        re.compile(
            rf"\bnext (?:{_NOUN}|listed)\b|\bthe next\W*$|\bfollowing {_NOUN}\b"
            rf"|\b{_NOUN} (?:below|after)\b|\b(?:after|below) (?:it|that|this)\b"
            rf"|[下后]一{_ZH_NOUN}|下面(?:那|一)[个条项]",
            re.I,
        ),
    ),
)
# A positional follow-up is short; a longer question names what it asks about.
MAX_WORDS, MAX_CHARS_ZH = 12, 20

# Entry ranks: a lower rank contains the higher ones that follow it.
_HEADINGS = frozenset(range(1, 7))
# A unit the follow-up names sets the ranks it steps at: "下一条" moves between articles even
# after an answer that quoted one of an article's items, "the next section" between headings
# even after one of a section's bullets.
_NAMED_UNITS: tuple[tuple[re.Pattern[str], frozenset[int]], ...] = (
    (re.compile(r"一章|\bchapters?\b", re.I), frozenset({CHAPTER})),
    (re.compile(r"一节"), frozenset({SECTION})),
    (re.compile(r"\bsections?\b", re.I), _HEADINGS | {SECTION}),
    (re.compile(r"一条|\barticles?\b", re.I), frozenset({ARTICLE})),
)
MIN_QUOTE_CHARS = 6  # a shorter sentence found in an earlier answer may be there by chance


def direction(question: str) -> Direction | None:
    """Which neighbour a short follow-up points at, or None when it points at none."""
    zh = detect_language(question) == "zh"
    if (len(question) > MAX_CHARS_ZH) if zh else (len(question.split()) > MAX_WORDS):
        return None
    return next((d for d, pattern in _DIRECTIONS if pattern.search(question)), None)


def _candidates(
    hits: list[Hit], entries_of: Callable[[str], list[Entry]]
) -> Iterator[tuple[int, Hit, Entry]]:
    """(passage rank, passage, entry) for the entries of each passage: those whose line starts
    in it and the innermost entry it continues."""
    for i, hit in enumerate(hits):
        chunk, entries = hit.chunk, entries_of(hit.chunk.doc_id)
        around = [e for e in entries if e.start < chunk.start < e.end and e.rank < ROW_RANK]
        inside = [e for e in entries if chunk.start <= e.start < chunk.end]
        for entry in around[-1:] + inside:
            yield i, hit, entry


# A shorter name ("Yes", "其他") may be in a question by chance.
MIN_NAME_CHARS = 4


def _named(question: str, entry: Entry) -> int:
    """How long the entry's name is when the question names it ("What is the prefix for Group
    Channels in Slack?" names the heading "Group Channels (g_)"), else 0."""
    name = entry_name(entry)
    if len(name) < MIN_NAME_CHARS:
        return 0
    pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, name.split())) + r"(?!\w)"
    return len(name) if re.search(pattern, question, re.I) else 0


def _anchor(
    question: str, candidates: Iterable[tuple[int, Hit, Entry]], idf: IdfFn
) -> tuple[Hit, Entry] | None:
    """The entry the question was about: one the question names (the longest name), else the
    one whose own line covers most of the question's keyword weight, a word found only in its
    passage's headings counting half (as for extractive sentences), lower-ranked passages a
    little less; on a tie the larger entry (a section over one of its bullets). None when no
    line holds any of its words."""
    best: tuple[int, float, int, Hit, Entry] | None = None
    weights = {t: idf(t) for t in tokenize(question)}
    contexts: dict[int, set[str]] = {}  # the question words in each passage's headings
    for i, hit, entry in candidates:
        if i not in contexts:
            contexts[i] = set(tokenize(" ".join(hit.chunk.heading_path))) & weights.keys()
        own = set(tokenize(entry.label)) & weights.keys()
        if not own:
            continue
        score = keyword_weight(own, contexts[i] - own, weights) * (1 - RANK_DECAY * i)
        key = (_named(question, entry), score, -entry.rank)
        if best is None or key > best[:3]:
            best = (*key, hit, entry)
    return (best[3], best[4]) if best is not None else None


def _flat(text: str) -> str:
    return re.sub(r"\s+|\[\d+\]", "", text)


def _shown_anchor(
    shown: str, question: str, hits: list[Hit], entries_of: Callable[[str], list[Entry]], idf: IdfFn
) -> tuple[Hit, Entry] | None:
    """The entry an earlier answer quoted first: of the entries that hold a sentence it
    quotes verbatim from the passage of its first quote, the one the question was about (an
    answer that quotes a whole table quotes every row, and "Marketing" names one); else the
    innermost entry that holds the first quote."""
    flat = _flat(shown)
    quoted: list[tuple[int, Hit, int]] = []  # (position in the answer, passage, offset)
    for hit in hits:
        for start, end in split_sentences(hit.chunk.text):
            sentence = _flat(hit.chunk.text[start:end])
            at = flat.find(sentence) if len(sentence) >= MIN_QUOTE_CHARS else -1
            if at >= 0:
                quoted.append((at, hit, hit.chunk.start + start))
    if not quoted:
        return None
    quoted.sort(key=lambda q: q[0])
    hit = quoted[0][1]
    entries = entries_of(hit.chunk.doc_id)
    chains = [
        [e for e in entries if e.start <= offset < max(e.end, e.line_end)]
        for _, other, offset in quoted
        if other is hit
    ]
    if not chains[0]:
        return None
    candidates = {e.start: e for chain in chains for e in chain}
    found = _anchor(question, ((0, hit, e) for e in candidates.values()), idf)
    return found or (hit, chains[0][-1])


def _parent(entries: list[Entry], entry: Entry) -> Entry | None:
    """The entry that holds ``entry`` (a row's table is no entry)."""
    return next((e for e in entries if e.start == entry.parent and e.rank < ROW_RANK), None)


def _enclosing(entries: list[Entry], entry: Entry, ranks: frozenset[int] | None) -> Entry:
    """``entry`` or the nearest entry of one of ``ranks`` that holds it (the article of an
    item, the section of a bullet); ``entry`` itself when none does."""
    found: Entry | None = entry
    while ranks is not None and found is not None and found.rank not in ranks:
        found = _parent(entries, found)
    return found or entry


def _step(entries: list[Entry], entry: Entry, to: Direction) -> Entry | None:
    """The sibling of ``entry`` in direction ``to``. Past either end of its list, the
    nearest entry of the same rank under the parent's sibling (第五条 closes 第二章 and
    第六条 opens 第三章: "下一条" is 第六条), or that sibling itself when it has none."""
    siblings = [e for e in entries if e.rank == entry.rank and e.parent == entry.parent]
    i = siblings.index(entry)
    j = {"next": i + 1, "previous": i - 1, "last": len(siblings) - 1}[to]
    if 0 <= j < len(siblings):
        return siblings[j]
    parent = _parent(entries, entry)
    uncle = _step(entries, parent, to) if parent is not None else None
    if uncle is None:
        return None
    cousins = [e for e in entries if e.rank == entry.rank and e.parent == uncle.start]
    return (cousins[0] if to == "next" else cousins[-1]) if cousins else uncle


@dataclass(frozen=True)
class Plan:
    """A positional follow-up: the earlier question that finds the anchor entry, and the
    steps from it, oldest first ("And the next one?", then "And the one after that?")."""

    base: str
    steps: tuple[Direction, ...]
    # The ranks of the unit the question names, if any (see ``_NAMED_UNITS``).
    unit: frozenset[int] | None = None


def plan_follow_up(question: str, previous: Sequence[str]) -> Plan | None:
    """How ``question`` points into the list the earlier user questions (oldest first) were
    about: the last of them that is not itself positional is the base, and each positional
    question after it, this one included, is a step. None when ``question`` is not
    positional or every earlier question is."""
    steps: list[Direction] = []
    for text in [*previous, question][::-1]:
        to = direction(text)
        if to is None:
            break
        steps.append(to)
    base_index = len(previous) - len(steps)
    if not steps or base_index < 0:
        return None
    unit = next((ranks for pattern, ranks in _NAMED_UNITS if pattern.search(question)), None)
    return Plan(previous[base_index], tuple(reversed(steps)), unit)


@dataclass(frozen=True)
class Located:
    """The neighbouring entry's passage first, then the base question's passages, and the
    sentences that answer: the entry's own line and, for a section, its best sentence."""

    hits: list[Hit]
    sentences: list[Sentence]


class Documents(Protocol):
    """What locating an entry reads (``IndexStore`` provides both)."""

    def document_structure(self, doc_id: str) -> DocumentStructure | None: ...

    def document_chunks(self, doc_id: str) -> list[Chunk]: ...


class PassageReader(Documents, Protocol):
    """What the answer service reads of an index besides searching it: passages by id,
    documents and the keyword statistics (``IndexStore`` provides it all)."""

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]: ...

    def keyword_index(self) -> KeywordIndex: ...


def locate(
    question: str,
    plan: Plan,
    found: list[Hit],
    documents: Documents,
    idf: IdfFn,
    shown: str | None = None,
) -> Located | None:
    """The entry ``plan``'s steps lead to, from the entry of ``found`` that the base question
    was about. With ``shown``, the answer given just before this question (``found`` then
    being the passages that answer's text retrieves), one step from the entry that answer
    quoted: "the next one" is the one after what the user saw. None when no entry answers or
    the list ends there."""

    @cache  # read once per follow-up, and only when an anchor is looked for in it
    def entries_of(doc_id: str) -> list[Entry]:
        structure = documents.document_structure(doc_id)  # as parsed at ingest
        return list(structure.entries) if structure is not None else []

    if shown is not None:
        anchor = _shown_anchor(shown, plan.base, found, entries_of, idf)
        steps = plan.steps[-1:]
    else:
        anchor = _anchor(plan.base, _candidates(found, entries_of), idf)
        steps = plan.steps
    if anchor is None:
        return None
    doc_id = anchor[0].chunk.doc_id
    entries = entries_of(doc_id)
    entry: Entry | None = _enclosing(entries, anchor[1], plan.unit)
    for to in steps:
        entry = _step(entries, entry, to) if entry is not None else None
    if entry is None:
        return None
    chunks = documents.document_chunks(doc_id)
    target = next((c for c in chunks if c.start <= entry.label_start < c.end), None)
    if target is None:
        return None
    hit = Hit(chunk=target, score=found[0].score)
    others = [h for h in found if h.chunk.chunk_id != target.chunk_id]
    hits = [hit, *others][: len(found)]  # as many passages as the search asked for
    return Located(hits, _sentences(entry, hit, (question, plan.base), idf))


def _sentences(entry: Entry, hit: Hit, questions: tuple[str, str], idf: IdfFn) -> list[Sentence]:
    """The entry's line, then the sentence of what it heads (within the passage) that best
    answers the follow-up's own words or else the base question's; the first one when
    neither matches any ("下一条呢？" shows the next article's opening)."""
    chunk = hit.chunk
    start = entry.label_start - chunk.start
    end = min(entry.label_start + len(entry.label), chunk.end) - chunk.start
    lead = Sentence(0, start, end, chunk.text[start:end], 1.0)
    body_start, body_end = entry.line_end - chunk.start, entry.end - chunk.start
    body: list[Sentence] = []
    for question in questions:
        body = [
            s
            for s in score_sentences(question, [hit], idf)
            if s.start >= body_start and s.end <= body_end
        ]
        if body and body[0].score > 0:
            return [lead, body[0]]
    return [lead, min(body, key=lambda s: s.start)] if body else [lead]


class PositionRoute:
    """Answers a follow-up that points at a position in a list ("下一条呢？") from the entry
    beside the one the answer just given quoted, or else the one the earlier question was
    about."""

    def __init__(
        self,
        retriever: HybridRetriever,
        passages: PassageReader,
        library: Library,
        finder: EvidenceFinder,
        max_chars: int,
    ) -> None:
        self.retriever = retriever
        self.passages = passages
        self.library = library
        self.finder = finder
        self.max_chars = max_chars

    def find(self, asked: Asked, top_k: int) -> Evidence | None:
        """The entry's passage first, then the base question's; None when the question points
        at no position, or when the earlier question finds no answer."""
        history = asked.history
        plan = plan_follow_up(asked.question, [t.content for t in history if t.role == "user"])
        if plan is None:
            return None
        idf = self.passages.keyword_index().idf
        located: Located | None = None
        if history and history[-1].role == "assistant":
            shown = history[-1].content[: self.max_chars]
            filters = self.library.filters(asked.scope)
            found = self.retriever.search_quotes(shown, top_k=top_k, filters=filters)
            located = locate(asked.question, plan, found, self.passages, idf, shown)
        if located is None:
            language = detect_language(plan.base)
            base = self.finder.find(plan.base, plan.base, asked.scope, language, top_k)
            if base.refused:
                return None
            located = locate(asked.question, plan, base.hits, self.passages, idf)
        if located is None:
            return None
        return Evidence(located.hits, located.sentences, refused=False, located=True)
