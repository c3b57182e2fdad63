"""Reading on: a quote its passage cuts off continues in the document's next passage, as it would
in one passage (the sentence completed, the list it introduces brought along, the sentences after
it up to the question's reach), cited once as the passage reaching into the next one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import takewhile

from chatbot.answering.asked import Asked, Evidence
from chatbot.answering.extractive import (
    _INTRODUCES,
    LIST_LINES,
    Sentence,
    _answer_length,
    _asks_next,
    _is_heading,
    _once,
    _reach_chars,
    ends_reading,
    next_in_list,
    opens_list,
    reach,
    split_sentences,
)
from index_store.numbering import marker_level
from index_store.records import Chunk, Hit

NextChunk = Callable[[Chunk], Chunk | None]


def run_on(
    hits: list[Hit], sentences: list[Sentence], next_chunk: NextChunk, scale: float = 1.0
) -> tuple[list[Hit], list[Sentence]]:
    """Where a quoted run of sentences reaches the end of its passage, the reading goes on in
    the document's next passage as it would have in one: the sentence the passage cuts is
    completed ("…认购疫情防控债券；" goes on to "对…予以支持等24条具体举措。"), a list the run
    introduces ("…现将有关事项通知如下：") brings its lines up to ``LIST_LINES``, and otherwise
    the sentences after it follow as ``_following`` reads them (``scale``: the question's
    ``reach``). The cited passage then reaches into the next one (``joined``): one quote, one
    citation. An answer that stops at "如下：" or mid-sentence says nothing, or half of it. A
    reading that reaches the end of that passage too goes on in the one after it, while what it
    read on is shorter than a reading-on's reach (a notice cut into a passage per item: "二、…",
    "三、…"; long items stop it as one next passage did)."""
    hits = list(hits)
    out: list[Sentence] = []
    run: list[Sentence] = []
    for i, s in enumerate(sentences):
        out.append(s)
        run.append(s)
        if i + 1 < len(sentences) and sentences[i + 1].hit_index == s.hit_index:
            continue
        chunk = hits[s.hit_index].chunk
        following = None if chunk.text[s.end :].strip() else next_chunk(chunk)
        more_headings: tuple[str, ...] = ()
        size, limit = 0, _reach_chars(chunk.text, scale)
        while following is not None:
            both = joined(chunk, following)
            more_headings += following.heading_path
            spans = _read_on(run, both, more_headings, scale)
            if not spans:
                break
            read = [Sentence(s.hit_index, a, b, both.text[a:b], 0.0) for a, b in spans]
            hits[s.hit_index] = replace(hits[s.hit_index], chunk=both)
            out += read
            run += read
            chunk = both
            size += sum(b - a for a, b in spans)
            if both.text[read[-1].end :].strip() or size >= limit:
                break
            following = next_chunk(following)
        run = []
    return hits, _once(out)


def joined(chunk: Chunk, following: Chunk) -> Chunk:
    """``chunk`` reaching on through ``following``, the next passage of its document: the
    overlap they share once, a gap between them as line breaks (as ``document_text`` reads it).
    It keeps ``chunk``'s id, place and headings: it is cited as the passage the quote starts in."""
    gap = "\n" * (following.start - chunk.end)
    text = chunk.text + gap + following.text[max(0, chunk.end - following.start) :]
    return replace(chunk, text=text, end=max(chunk.end, following.end))


def _read_on(
    run: list[Sentence], both: Chunk, more_headings: tuple[str, ...], scale: float
) -> list[tuple[int, int]]:
    """The spans of ``both`` after ``run``, which ended its first passage: the rest of a
    sentence cut there, then the lines of a list the run introduces (up to ``LIST_LINES``
    after the introduction), or else the sentences ``_following`` would read within one
    passage. A heading line of either passage is never quoted."""
    text, cut = both.text, run[-1].end
    headings = both.heading_path + more_headings
    rest = [(a, b) for a, b in split_sentences(text) if b > cut]
    spans: list[tuple[int, int]] = []
    if rest and rest[0][0] < cut:  # the passage ended inside this sentence
        spans.append((cut + len(text[cut:]) - len(text[cut:].lstrip()), rest[0][1]))
        rest = rest[1:]
    introduced = [i for i, s in enumerate(run) if _INTRODUCES.search(s.text)]
    if introduced:
        taken = len(run) - introduced[-1] - 1
        if taken:  # the list began in the run: a heading (第七条 申报时间) ends it
            lines = list(
                takewhile(lambda span: not _is_heading(text[span[0] : span[1]], headings), rest)
            )
        else:  # the list opens the next passage, often under headings of its own (一、假期安排)
            lines = [(a, b) for a, b in rest if not _is_heading(text[a:b], headings)]
        return (spans + lines)[: max(0, LIST_LINES - taken)]
    own = marker_level(run[0].text)
    # A list asked for goes on through its next items, each of them a passage under its own
    # heading ("（二）改造项目补助。").
    whole_list = opens_list(run[0].text, scale)
    size = sum(_answer_length(s.text) for s in run) + sum(b - a for a, b in spans)
    limit = _reach_chars(text, scale)
    previous = text[spans[-1][0] : spans[-1][1]] if spans else run[-1].text
    for a, b in rest:
        sentence = text[a:b]
        if (
            size >= limit
            or (_is_heading(sentence, headings) and not next_in_list(sentence, own, whole_list))
            or ends_reading(sentence, own, whole_list)
            or _asks_next(previous, sentence)
        ):
            break
        spans.append((a, b))
        size += b - a
        previous = sentence
    return spans


class ReadOnRoute:
    """A quote its passage cuts off reads on in the next passage (the answer's text only:
    refusal and a follow-up's anchor see the passages as searched)."""

    def __init__(self, next_chunk: Callable[[Chunk], Chunk | None]) -> None:
        self.next_chunk = next_chunk

    def extend(self, asked: Asked, found: Evidence) -> Evidence:
        if found.located or found.refused:
            return found
        hits, sentences = run_on(
            found.hits, found.sentences, self.next_chunk, reach(asked.question)
        )
        return replace(found, hits=hits, sentences=sentences)
