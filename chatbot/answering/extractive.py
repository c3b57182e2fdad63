"""Extractive answers: the sentences of the retrieved passages that answer the question, kept
verbatim, each marked with the citation of its passage.

Sentences are scored by how much of the question's (IDF-weighted) keywords they cover, with a
mild preference for higher-ranked passages, and ranked higher when they hold the kind of answer
the question asks for (a date, a phone number, an address, an amount). Each chosen sentence
brings the ones that follow it and the start of the numbered item or paragraph it lies in (or,
when it opens by pointing back, "该项措施…", the sentence before it); where the passage ends
first, the reading goes on in the document's next passage (``read_on.run_on``): a sentence or
a list the passage cuts off is not quoted by half. No model runs here, so an answer costs a few
milliseconds and every number in it is copied from the cited text by construction.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from chatbot.answering.asking import (
    ASKS_FRAMING,
    FRAMING,
    ISSUING,
    SIGNATURE,
    asked_for,
    asking_tokens,
    asks_subjects,
    question_tokens,
)
from chatbot.answering.synonyms import same_words
from index_store.keyword import tokenize
from index_store.language import char_scale
from index_store.numbering import ANY_MARKER, marker_level
from index_store.records import Chunk, Hit
from index_store.table_rows import parse_row

_MIN_SENTENCE_CHARS = 6
# Sentence ends, line breaks, and paragraph gaps (runs of spaces, ideographic spaces), which
# many notices use instead of line breaks; "Mr." style periods need a letter before them. A run
# of spaces after an English word or comma, however long, is a typo inside the sentence ("Meals
# while traveling on Company business  are reimbursable, up to $100 USD per day").
_SENTENCE_END = re.compile(
    r"[。！？!?]+[”’」』)）]*|\n|(?<![A-Za-z,; \t\u3000])[ \t\u3000]{2,}|\u3000"
    r"|(?<=[A-Za-z)])\.(?=\s)"
)
RANK_DECAY = 0.06  # each lower passage rank costs 6 % of a sentence's score
CONTEXT_WEIGHT = 0.5  # a question word found only in the passage's title or headings
SECOND_SENTENCE_SHARE = 0.75  # further sentences must score this share of the best one
# A follow-up that swaps a part ("And for Standard customers?"): the sentences holding this share
# of the best one's coverage of it may lead, by how much of the earlier question they hold.
SWAPPED_SHARE = 0.5
LIST_LINES = 6  # lines a "以下材料：" sentence may bring along
# A chosen sentence brings the sentences after it in its passage, up to this many characters
# with it, stopping where a new numbered item starts: the sentence that shares the question's
# words often only sets the scene ("农业农村部启动开展…专项行动"), and what the question asks
# follows it ("此次行动注重…"); measured in docs/experiments/quality-notes.md. Counted in
# Chinese characters: English passages read on three times as far, about as many model tokens
# (``char_scale``).
CONTINUE_CHARS = 200
# A question that asks for several things ("有哪些措施", "申请条件包括什么", "What are the…") reads
# on this many times as far: the list it asks for is its answer, and a passage's end no longer
# stops the reading (``run_on``); the reach was chosen on ncp's dev and test splits
# (docs/experiments/quality-notes.md).
LIST_QUESTION_REACH = 1.5
_ASKS_FOR_LIST = re.compile(
    r"哪些|哪几|哪方面|什么(?:措施|举措|要求|条件|内容|材料)|有何|包括|流程|步骤|\bwhat are\b"
    r"|(?:措施|举措|要求|条件|内容|材料)(?:是|为|有)什么",
    re.I,
)
_ITEM_START = re.compile(rf"^\s*(?:{ANY_MARKER})")
# The first item of a list (一、 （一） 1. (1)): for a question that asks for a list, the list
# it opens is the answer, so it reads on through the items after it.
_FIRST_ITEM = re.compile(r"^\s*(?:一[、，．]|[（(][一1][）)]|1[.．、)）](?!\d))")
# What ends the text before a paragraph's first sentence: a line break or a run of spaces.
_PARAGRAPH_BREAK = re.compile(r"(?:\n|[ \t\u3000]{2,}|\u3000)[ \t\u3000]*$")
# A chosen sentence inside a numbered item or a paragraph brings its start when it lies this
# close before it ("5.缓解企业用能成本压力。" before "市政控股公司要…"); counted as
# CONTINUE_CHARS is.
LEAD_IN_CHARS = 100
# A sentence that opens by pointing back ("该项措施是…", "这是该区…的第二例", "This means…") says
# little without the sentence before it, which it brings.
_REFERS_BACK = re.compile(r"^(?:该|这|此(?!外)|上述|以上|前述|(?:This|These|That|Those|Such)\b)")
# A sentence that introduces what follows it: "…材料：", "…具体安排通知如下。", "…as follows:",
# or one that runs on into the list's first item ("需提交如下材料：1.审批表(原件1份)。").
_INTRODUCES = re.compile(rf"(?:[：:]|如下[。.]?|as follows\.?)$|[：:]\s*(?:{ANY_MARKER})", re.I)
# A sentence that asks a question: in a question-and-answer notice ("23、…需如何处理？《传染病
# 防治法》第二十七条规定：…") it is the entry's question, and its answer is what follows it.
_ASKS = re.compile(r"[？?][”’」』)）]*$")
# ... unless the question mark is a web address's ("…go to: https://example.com/prefs.html?").
_URL_AT_END = re.compile(r"https?://\S*$")
_CJK = re.compile(r"[\u3400-\u9fff]")
# A question about who issued a policy or when: the signature answers it.
_ASKS_SIGNATURE = re.compile(rf"{ISSUING}|落款|发的|\bissued\b", re.I)
# A quote that reads on stops at a notice's signature (``SIGNATURE``): it says nothing.

# A question that asks for a date, a phone number, a website, an e-mail address or an amount
# ranks the sentences that hold one this much higher ("可以通过哪个网站办理？" is answered by the
# sentence with the address, not by the one that repeats the question's words); chosen on the
# ncp dev questions (docs/experiments/quality-notes.md).
TYPE_BONUS = 0.5


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


def _lines(chunk: Chunk) -> list[tuple[int, int, str, bool]]:
    """(start, end, text, whether it is one of the passage's headings) of each sentence."""
    return [
        (a, b, chunk.text[a:b], _is_heading(chunk.text[a:b], chunk.heading_path))
        for a, b in split_sentences(chunk.text)
    ]


def has_body(chunk: Chunk) -> bool:
    """Whether ``chunk`` holds a sentence that is not one of its headings."""
    return not all(heading for *_, heading in _lines(chunk))


IdfFn = Callable[[str], float]


def keyword_weight(own: set[str], context_only: set[str], idf: Mapping[str, float]) -> float:
    """The question weight a line covers: its own words in full, words found only in its
    passage's title or headings (``context_only``) at ``CONTEXT_WEIGHT``."""
    return sum(idf[t] for t in own) + CONTEXT_WEIGHT * sum(idf[t] for t in context_only)


def score_sentences(question: str, hits: list[Hit], idf_fn: IdfFn | None = None) -> list[Sentence]:
    """Every body sentence of ``hits`` with its keyword-coverage score, best first.

    The score is the share of the question's IDF weight that the sentence covers. With
    ``idf_fn`` (the corpus IDF from the keyword index) a question term the corpus never uses
    weighs the most, so "住房公积金" questions over enterprise-subsidy documents score low;
    without it IDF comes from the candidate sentences. Heading lines are never picked, but a
    question word found only in the passage's title or headings counts ``CONTEXT_WEIGHT`` of
    its weight ("攀枝花市…如何严防疫情传播" finds the sentences under 三、严防疫情传播 of the
    攀枝花 notice, not another city's). A sentence that holds the kind of answer the question
    asks for (a date for 截止) covers the words it asks with (``asking_tokens``). A policy's
    framing (``FRAMING``: its purpose clause, its 文号 line) counts like a heading."""
    q_tokens = question_tokens(question)
    asked, asking = asking_tokens(question)
    framing_is_context = not ASKS_FRAMING.search(question)
    signed = _ASKS_SIGNATURE.search(question) is not None
    candidates: list[tuple[int, int, int, set[str], set[str]]] = []
    for i, hit in enumerate(hits):
        path = hit.chunk.heading_path
        headed = _asked_about(hit, hits)
        context = same_words(tokenize(" ".join(path)), q_tokens)
        lines = _lines(hit.chunk)
        # A passage of headings only is its own content (a one-line document, its line the
        # title); the service reads one that a passage follows on into that passage
        # (``AnswerService._with_body``).
        lines_too = all(heading for *_, heading in lines)
        for start, end, sentence, heading in lines:
            # A signature line (the issuing body, the date) answers only who issued the
            # policy and when, though its date would look like the answer to "什么时候".
            if (lines_too or not heading) and (signed or not SIGNATURE.match(sentence)):
                own = _held(tokenize(sentence), q_tokens)
                if asked is not None and asked.given_by(sentence, headed):
                    own |= asking
                if framing_is_context and FRAMING.search(sentence):
                    own, context = set(), context | own
                candidates.append((i, start, end, own, context - own))
    if not candidates or not q_tokens:
        return []
    if idf_fn is not None:
        idf = {t: idf_fn(t) for t in q_tokens}
    else:
        df = Counter(t for _, _, _, own, context in candidates for t in own | context)
        n = len(candidates)
        idf = {t: math.log(1 + n / (1 + df[t])) for t in q_tokens}
    total = sum(idf.values())
    scored = [
        Sentence(
            i,
            start,
            end,
            hits[i].chunk.text[start:end],
            keyword_weight(own, context, idf) / total * (1 - RANK_DECAY * i),
        )
        for i, start, end, own, context in candidates
    ]
    return sorted(scored, key=lambda s: (-s.score, s.hit_index, s.start))


def _asked_about(hit: Hit, hits: list[Hit]) -> tuple[str, ...]:
    """The headings of ``hit`` that may tell the kind of answer its sentences give: those of the
    best passage's document, the policy the question is about. 三、申请条件 of another policy
    names who may apply for that one."""
    return hit.chunk.heading_path if hit.chunk.doc_id == hits[0].chunk.doc_id else ()


def _held(tokens: list[str], q_tokens: set[str]) -> set[str]:
    """The question's tokens among a sentence's, as written or as a synonym (``same_words``:
    申请 holds 申报), a question word counting as held inside a longer word: jieba reads 执行期 and
    社会保险费 as one word each, where the question has 执行 and 社会保险."""
    own = same_words(tokens, q_tokens)
    missing = {t for t in q_tokens - own if _CJK.match(t)}
    if missing:
        words = [t for t in tokens if len(t) > 2 and _CJK.match(t)]
        own |= {t for t in missing if any(t in w for w in words)}
    return own


def reach(question: str) -> float:
    """How far a chosen sentence reads on for ``question``, in units of ``CONTINUE_CHARS``.
    哪些企业 asks who may apply, which one clause answers (``asks_subjects``), not a list."""
    listed = _ASKS_FOR_LIST.search(question) and not asks_subjects(question)
    return LIST_QUESTION_REACH if listed else 1.0


def _reach_chars(text: str, scale: float) -> float:
    """How many characters a reading-on in ``text`` takes at most: ``CONTINUE_CHARS`` scaled to
    the text's script and by ``scale``, the question's ``reach``."""
    return CONTINUE_CHARS * char_scale(text) * scale


def _following(lead: Sentence, ranked: list[Sentence], hit: Hit, scale: float) -> list[Sentence]:
    """What ``lead`` brings along from its passage: after a colon or 如下, the list it introduces
    (up to ``LIST_LINES`` lines); else the sentences right after it up to ``CONTINUE_CHARS`` in
    all (scaled to the passage's script and by ``scale``, the question's ``reach``), stopping
    at a heading, at the start of a numbered item as high as the one ``lead`` starts (its own
    sub-items go on, and so do its siblings when it opens a list asked for: ``opens_list``), or
    of any item when ``lead`` starts none, or at the next question of a Q&A notice
    (``_asks_next``). A table row (``parse_row``) is whole on its own: it brings nothing, and
    the next row is another answer."""
    if parse_row(lead.text):
        return []
    after = sorted(
        (s for s in ranked if s.hit_index == lead.hit_index and s.start >= lead.end),
        key=lambda s: s.start,
    )
    if _INTRODUCES.search(lead.text):
        return after[:LIST_LINES]
    by_start = {s.start: s for s in after}
    taken: list[Sentence] = []
    size, limit = _answer_length(lead.text), _reach_chars(hit.chunk.text, scale)
    # A lower level holds the higher ones: "5.村民等在村人员责任。" reads on into its own "（1）…",
    # and stops at "6.". A list's first item, asked for a list, reads on through its siblings.
    own = marker_level(lead.text)
    whole_list = opens_list(lead.text, scale)
    previous = lead.text
    for start, _ in split_sentences(hit.chunk.text[lead.end :]):
        s = by_start.get(lead.end + start)
        # s is None for a heading line, which is never ranked.
        if (
            size >= limit
            or s is None
            or _asks_next(previous, s.text)
            or ends_reading(s.text, own, whole_list)
        ):
            break
        taken.append(s)
        size += len(s.text)
        previous = s.text
    return taken


def next_in_list(sentence: str, own: int | None, whole_list: bool) -> bool:
    """Whether ``sentence`` starts the next item of a list read whole (``opens_list``): an
    item at ``own``, the level of the list's first."""
    return whole_list and marker_level(sentence) == own


def ends_reading(sentence: str, own: int | None, whole_list: bool) -> bool:
    """Whether a reading-on from an item of level ``own`` stops before ``sentence``: at a
    notice's signature, or at an item as high as ``own`` (``_ends_item``) unless it is the
    next item of a list read whole."""
    if SIGNATURE.match(sentence):
        return True
    return _ends_item(sentence, own) and not next_in_list(sentence, own, whole_list)


def opens_list(sentence: str, scale: float) -> bool:
    """Whether ``sentence`` is a list's first item (一、 （一） 1. (1)) read for a question that
    asks for a list (``scale``, its ``reach``, above 1): it reads on through its siblings."""
    return scale > 1 and marker_level(sentence) is not None and bool(_FIRST_ITEM.match(sentence))


def _answer_length(sentence: str) -> int:
    """What ``sentence`` counts against a read-on's reach: a question counts nothing, since it is
    no part of the answer that follows it."""
    return 0 if _is_question(sentence) else len(sentence)


def _asks_next(previous: str, sentence: str) -> bool:
    """Whether ``sentence``, read after ``previous``, asks the next question of a Q&A notice
    ("…进行数字文献资源在线阅读。" then "Q3：什么时候开馆？"): a question after an answer. A
    question right after a question is the same one asked in parts ("门把手、按钮、扶手是否有
    病毒？" then "该怎么消毒？"), and its answer is still to come."""
    return _is_question(sentence) and not _is_question(previous)


def _is_question(sentence: str) -> bool:
    return _ASKS.search(sentence) is not None and _URL_AT_END.search(sentence) is None


def _ends_item(sentence: str, own: int | None) -> bool:
    """Whether ``sentence`` starts an item that ends a read-on from an item of level ``own``:
    one at that level or above it (一、 is above （一）, which is above 1.), or any item when
    ``own`` is None (the read-on started no item)."""
    level = marker_level(sentence)
    return level is not None and (own is None or level <= own)


def _lead_in(lead: Sentence, ranked: list[Sentence], hit: Hit) -> list[Sentence]:
    """The sentences before ``lead`` back to the start of the numbered item it lies in, or of
    its paragraph when it does not start one, when that start is at most ``LEAD_IN_CHARS``
    (scaled to the passage's script) before it; else the sentence right before it when ``lead``
    opens by pointing back ("该项措施是…"). None when ``lead`` starts an item itself or is a
    signature (it ends the last item rather than belonging to it), or a heading or the passage
    start comes first."""
    text = hit.chunk.text
    if _ITEM_START.match(lead.text) or parse_row(lead.text) or SIGNATURE.match(lead.text):
        return []
    # A lead that starts a line may be one of an item's lines (a markdown bullet), so only the
    # item start bounds it.
    in_paragraph = not _PARAGRAPH_BREAK.search(text, 0, lead.start)
    by_start = {s.start: s for s in ranked if s.hit_index == lead.hit_index}
    before = [(start, by_start.get(start)) for start, _ in split_sentences(text[: lead.start])]
    taken: list[Sentence] = []
    size, limit = 0, LEAD_IN_CHARS * char_scale(text)
    for start, s in reversed(before):
        if s is None or size + len(s.text) > limit:
            break
        taken.append(s)
        size += len(s.text)
        if _ITEM_START.match(s.text) or (in_paragraph and _PARAGRAPH_BREAK.search(text, 0, start)):
            return taken[::-1]
    previous = before[-1][1] if before else None
    return [previous] if previous is not None and _REFERS_BACK.match(lead.text) else []


def select_sentences(
    question: str, hits: list[Hit], max_sentences: int = 3, idf_fn: IdfFn | None = None
) -> list[Sentence]:
    """The best sentence plus up to ``max_sentences - 1`` others scoring close to it, in
    reading order (passage rank, then position). A sentence ending in a colon or 如下 brings
    the lines after it in its passage (it introduces a list), up to ``LIST_LINES``; any other
    brings the sentences that follow it (see ``_following``)."""
    return choose_sentences(question, hits, score_sentences(question, hits, idf_fn), max_sentences)


def swapped(own: list[Sentence], before: list[Sentence]) -> list[Sentence]:
    """The ranking for a follow-up that swaps one part of the question before it ("And for
    Standard customers?" after a question on severity-1 response times). ``own`` ranks the
    sentences by the follow-up's words, ``before`` by the earlier question's. Of the sentences
    that hold at least ``SWAPPED_SHARE`` of what the best one holds of the follow-up, the one
    that holds most of the earlier question leads (2.1's response times, not the support hours
    that also say "Standard" and "customer"); the others rank by their own coverage scaled by
    how much of the earlier question they hold, so one on the new part alone is not quoted
    beside it. The lead takes the best coverage, which refusal reads, as before."""
    if not own or own[0].score <= 0:
        return own
    earlier = {(s.hit_index, s.start): s.score for s in before}

    def held(s: Sentence) -> float:
        return earlier.get((s.hit_index, s.start), 0.0)

    top = own[0].score
    close = [s for s in own if s.score >= SWAPPED_SHARE * top]
    most = max(held(s) for s in close)
    if most <= 0:
        return own
    # Ties on both keep the ranking's order (passage rank, then position).
    lead = max(close, key=lambda s: (held(s), s.score))
    rest = [
        replace(s, score=s.score * (0.5 + 0.5 * min(1.0, held(s) / most)))
        for s in own
        if s is not lead
    ]
    ranked = [replace(lead, score=top), *rest]
    return sorted(ranked, key=lambda s: (-s.score, s.hit_index, s.start))


def choose_sentences(
    question: str, hits: list[Hit], ranked: list[Sentence], max_sentences: int = 3
) -> list[Sentence]:
    """``select_sentences`` over a given ranking of the passages' sentences (best first, by
    keyword coverage or by a model's score): the lead sentences and what each brings along."""
    if not ranked or ranked[0].score <= 0:
        return []
    typed = asked_for(question)

    def gives(s: Sentence) -> bool:
        return typed is not None and typed.given_by(s.text, _asked_about(hits[s.hit_index], hits))

    # The order holds the kind of answer asked for; ``score`` stays keyword coverage, which
    # refusal reads.
    order = sorted(
        ((s.score * (1 + TYPE_BONUS) if gives(s) else s.score, s) for s in ranked),
        key=lambda p: (-p[0], p[1].hit_index, p[1].start),
    )
    top, best = order[0]
    chosen = [best]
    for rank_score, s in order[1:]:
        if len(chosen) >= max_sentences or rank_score < top * SECOND_SENTENCE_SHARE:
            break
        chosen.append(s)
    scale = reach(question)
    for lead in list(chosen):
        chosen.extend(_lead_in(lead, ranked, hits[lead.hit_index]))
        chosen.extend(_following(lead, ranked, hits[lead.hit_index], scale))
    # In reading order: a sentence chosen twice (as a lead and as another's continuation) and
    # the same sentence in two passages (overlapping chunks, reprinted notices) are quoted once.
    return _once(sorted(chosen, key=lambda s: (s.hit_index, s.start)))


def _once(sentences: list[Sentence]) -> list[Sentence]:
    """One entry per sentence text, at its first place."""
    quoted: dict[str, Sentence] = {}
    for s in sentences:
        quoted.setdefault(s.text, s)
    return list(quoted.values())
