"""Is each sentence of an answer supported by the passages it cites?

The reranker, which was trained to tell whether a passage answers a question, reads each cited
sentence against its cited passages; a sentence is supported when the calibrated probability
for its best cited passage reaches the threshold *and* every amount, percentage and date it
states appears in those passages (a changed "60%" still reads as on topic to the model, so the
numbers are checked exactly). Sentences without a citation mark are framing ("根据现有政策文件：")
and are not judged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chatbot.answering.citations import unverified_numbers
from index_store.records import HEADING_SEPARATOR, Citation
from index_store.reranker.model import PairScorer, passage_text

_MARKS = re.compile(r"\[(\d{1,3})\]")
_MARKS_AFTER_END = re.compile(r"([。！？!?；;.])((?:\s*\[\d{1,3}\])+)")
_SPACE_BEFORE_STOP = re.compile(r"\s+([.,;:!?])")
_SENTENCE_BREAK = re.compile(r"(?<=[。！？!?；;])|\n|(?<=\.)\s+")


@dataclass(frozen=True)
class SentenceSupport:
    text: str  # the sentence without its citation marks
    cited: tuple[int, ...]
    probability: float  # the scorer's, for the best cited passage
    missing_numbers: tuple[str, ...]  # stated in the sentence, in none of its cited passages
    supported: bool


def cited_sentences(answer: str) -> list[tuple[str, tuple[int, ...]]]:
    """The answer's sentences that carry citation marks: (text without marks, cited numbers).
    A mark that follows the sentence end (``…返还。[1]``) belongs to the sentence before it."""
    moved = _MARKS_AFTER_END.sub(lambda m: m.group(2).replace(" ", "") + m.group(1), answer)
    out: list[tuple[str, tuple[int, ...]]] = []
    for raw in _SENTENCE_BREAK.split(moved):
        marks = tuple(dict.fromkeys(int(x) for x in _MARKS.findall(raw)))
        text = _SPACE_BEFORE_STOP.sub(r"\1", _MARKS.sub("", raw)).strip()
        if marks and text:
            out.append((text, marks))
    return out


def check_support(
    answer: str, citations: Sequence[Citation], scorer: PairScorer, threshold: float
) -> list[SentenceSupport]:
    """Each cited sentence of ``answer`` judged against the passages its marks name."""
    by_n = {c.n: c for c in citations}
    judged: list[SentenceSupport] = []
    for text, marks in cited_sentences(answer):
        cited = [by_n[m] for m in marks if m in by_n]
        if not cited:
            judged.append(SentenceSupport(text, marks, 0.0, (), False))
            continue
        # The heading path as retrieval shows it to the scorer: the title, then the locator's.
        path = [(c.title, *c.locator.split(HEADING_SEPARATOR)) for c in cited]
        passages = [passage_text(p, c.text) for p, c in zip(path, cited, strict=True)]
        logits = [float(x) for x in scorer.logits(text, passages)]
        probability = scorer.answerable(max(logits))
        missing = tuple(unverified_numbers(text, [c.text for c in cited]))
        ok = probability >= threshold and not missing
        judged.append(SentenceSupport(text, marks, probability, missing, ok))
    return judged


def faithfulness(judged: Sequence[SentenceSupport]) -> float | None:
    """The share of judged sentences that are supported; None when none was judged."""
    return sum(s.supported for s in judged) / len(judged) if judged else None
