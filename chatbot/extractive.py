"""Extractive answers: the sentences of the retrieved passages that answer the question, kept
verbatim, each marked with the citation of its passage.

Sentences are scored by how much of the question's (IDF-weighted) keywords they cover, with a
mild preference for higher-ranked passages. No model runs here, so an answer costs a few
milliseconds and every number in it is copied from the cited text by construction.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from index_store.keyword import tokenize
from index_store.records import Hit

_MIN_SENTENCE_CHARS = 6
# Sentence ends, line breaks, and paragraph gaps (runs of spaces, ideographic spaces), which
# many notices use instead of line breaks; "Mr." style periods need a letter before them.
_SENTENCE_END = re.compile(
    r"[。！？!?]+[”’」』)）]*|\n|[ \t\u3000]{2,}|\u3000|(?<=[A-Za-z)])\.(?=\s)"
)
RANK_DECAY = 0.06  # each lower passage rank costs 6 % of a sentence's score
SECOND_SENTENCE_SHARE = 0.75  # further sentences must score this share of the best one
LIST_LINES = 6  # lines a "以下材料：" sentence may bring along


@dataclass(frozen=True)
class Sentence:
    hit_index: int  # position of its passage in the retrieved list
    start: int  # offsets in the passage text
    end: int
    text: str
    score: float


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``: Chinese and English sentence ends and line
    breaks; whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((pos, match.end()))
        pos = match.end()
    spans.append((pos, len(text)))
    trimmed = []
    for start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end - start >= _MIN_SENTENCE_CHARS:
            trimmed.append((start, end))
    return trimmed


def _is_heading(sentence: str, heading_path: tuple[str, ...]) -> bool:
    flat = " ".join(sentence.lstrip("#").split())
    return sentence.startswith("#") or flat in heading_path


IdfFn = Callable[[str], float]


def score_sentences(question: str, hits: list[Hit], idf_fn: IdfFn | None = None) -> list[Sentence]:
    """Every body sentence of ``hits`` with its keyword-coverage score, best first.

    The score is the share of the question's IDF weight that the sentence covers. With
    ``idf_fn`` (the corpus IDF from the keyword index) a question term the corpus never uses
    weighs the most, so "住房公积金" questions over enterprise-subsidy documents score low;
    without it IDF comes from the candidate sentences. Heading lines are never picked, but the
    clause heading counts as context of every sentence under it."""
    q_tokens = set(tokenize(question))
    candidates: list[tuple[int, int, int, set[str]]] = []
    for i, hit in enumerate(hits):
        path = hit.chunk.heading_path
        context = set(tokenize(path[-1])) if len(path) > 1 else set()
        for start, end in split_sentences(hit.chunk.text):
            sentence = hit.chunk.text[start:end]
            if not _is_heading(sentence, path):
                candidates.append((i, start, end, set(tokenize(sentence)) | context))
    if not candidates or not q_tokens:
        return []
    if idf_fn is not None:
        idf = {t: idf_fn(t) for t in q_tokens}
    else:
        df = Counter(t for *_, tokens in candidates for t in tokens & q_tokens)
        n = len(candidates)
        idf = {t: math.log(1 + n / (1 + df[t])) for t in q_tokens}
    total = sum(idf.values())
    scored = [
        Sentence(
            i,
            start,
            end,
            hits[i].chunk.text[start:end],
            sum(idf[t] for t in tokens & q_tokens) / total * (1 - RANK_DECAY * i),
        )
        for i, start, end, tokens in candidates
    ]
    return sorted(scored, key=lambda s: (-s.score, s.hit_index, s.start))


def select_sentences(
    question: str, hits: list[Hit], max_sentences: int = 3, idf_fn: IdfFn | None = None
) -> list[Sentence]:
    """The best sentence plus up to ``max_sentences - 1`` others scoring close to it, in
    reading order (passage rank, then position). A sentence ending in a colon brings the
    lines after it in its passage (it introduces a list), up to ``LIST_LINES``."""
    ranked = score_sentences(question, hits, idf_fn)
    if not ranked or ranked[0].score <= 0:
        return []
    best = ranked[0]
    chosen = [best]
    for s in ranked[1:]:
        if len(chosen) >= max_sentences or s.score < best.score * SECOND_SENTENCE_SHARE:
            break
        chosen.append(s)
    for intro in [s for s in chosen if s.text.endswith(("：", ":"))]:
        following = sorted(
            (s for s in ranked if s.hit_index == intro.hit_index and s.start >= intro.end),
            key=lambda s: s.start,
        )
        chosen.extend(following[:LIST_LINES])
    unique = {(s.hit_index, s.start): s for s in chosen}
    return sorted(unique.values(), key=lambda s: (s.hit_index, s.start))
