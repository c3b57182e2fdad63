"""Questions about the library itself: "有哪些政策？", "What policies do you have?". Such a
question names no topic, so no passage answers it (a search quoted the demo's disclaimer line, or
the clause that repeals an old policy, for "有哪些扶持政策？"). The answer is the list of the
policies the question's scope allows, newest first, each citing its document's opening passage
and naming its measures; for a question about a kind of enterprise ("小微企业能享受哪些扶持？"),
those that name it, each citing the sentence that does (``list_questions`` tells them apart).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from chatbot.answering.asked import Asked
from chatbot.answering.documents import Library
from chatbot.answering.list_questions import asks_for_catalogue, asks_for_lapsed, kind_asked
from chatbot.answering.measures import measures, naming_rank, naming_sentence
from chatbot.answering.position import PassageReader
from chatbot.answering.prompts import CATALOGUE
from chatbot.answering.retrieval import same_text_key
from index_store.ids import chunk_id
from index_store.language import detect_language
from index_store.policy import Scope
from index_store.records import Answer, Chunk, Citation, DocumentRecord, Hit

ListKind = Literal["in_force", "all", "lapsed"]  # which policies a list shows
MAX_LISTED = 10  # a library of hundreds is listed by its newest; the rest are found by topic

_ZH_NUMBERS = {c: i for i, c in enumerate("一二三四五六七八九十", 1)}
_EN_ORDINALS = {
    w: i
    for i, w in enumerate(
        ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"), 1
    )
}
# "第二个政策", "第3份", "最后一个"; "the second one", "the 3rd policy", "number 2", "the last".
# Another noun after the place names something else ("第一个步骤", "the first step").
_ZH_PICK = re.compile(
    r"(?:第(?P<zh>[一二三四五六七八九十]|\d{1,2})\s*(?:个|份|项)|最后一\s*(?:个|份|项))"
    r"(?:政策文件|政策|文件|办法|(?=的|呢|吗|是|有|怎|如|能|可|要|[\s\W]|$))"
)
_EN_PICK = re.compile(
    r"\b(?:the\s+)?(?:(?P<en>" + "|".join(_EN_ORDINALS) + r")|(?P<num>\d{1,2})(?:st|nd|rd|th)"
    r"|(?P<last>last))(?:\s+(?:one|policy|document)\b|\W*$)|\b(?:number|no\.)\s*(?P<no>\d{1,2})\b",
    re.I,
)


def picked(question: str, listed: int) -> tuple[int, str] | None:
    """For a follow-up to a list of ``listed`` policies, the 0-based position it names
    ("第二个政策的申请条件？", "And the last one?") and the words that name it; None when it
    names none, or one past the list."""
    match = _ZH_PICK.search(question) or _EN_PICK.search(question)
    if match is None:
        return None
    groups = match.groupdict()
    if groups.get("zh"):
        n = _ZH_NUMBERS.get(groups["zh"]) or int(groups["zh"])
    elif groups.get("en"):
        n = _EN_ORDINALS[groups["en"].lower()]
    elif groups.get("num") or groups.get("no"):
        n = int(groups.get("num") or groups["no"])
    else:  # 最后一个, the last
        n = listed
    return (n - 1, match.group()) if 1 <= n <= listed else None


def distinct(records: Sequence[DocumentRecord]) -> list[DocumentRecord]:
    """``records`` with each policy once: a file indexed twice (two folders, a renamed copy)
    is one policy, known by its title and 文号 or version, or without those by its content."""
    seen: set[tuple[str, ...]] = set()
    out: list[DocumentRecord] = []
    for record in records:
        number = record.info.doc_number
        key = (record.title, number) if number else (record.content_hash,)
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out


def newest(records: Sequence[DocumentRecord]) -> list[DocumentRecord]:
    """The ``MAX_LISTED`` newest of ``records`` (by effective, else publish date), newest first."""
    return sorted(records, key=_newest_first, reverse=True)[:MAX_LISTED]


def _newest_first(record: DocumentRecord) -> tuple[str, str]:
    info = record.info
    return (info.effective or info.published, record.title)


@dataclass(frozen=True)
class Listed:
    """A policy in a list: its policy line (《title》（文号，validity）), the passage cited for it,
    the quote shown from that passage, and the names of its measures."""

    policy: str
    passage: Chunk
    quote: str
    measures: tuple[str, ...] = ()


def catalogue_answer(
    question: str,
    count: int,
    listed: Sequence[Listed],
    language: str,
    kind: ListKind,
    naming: str | None = None,
) -> Answer:
    """``count`` policies (the ones the scope allows: ``kind`` says whether only those in
    force, all, or those no longer in force; with ``naming``, those of them that name that
    kind of enterprise), of which ``listed`` (``newest``) are named by their policy line and
    measures, each citing its passage. None lapsed is an answer; no policy at all is a
    refusal."""
    words = CATALOGUE[language]
    if not listed:
        lapsed = kind == "lapsed"
        text = words["none_lapsed" if lapsed else "none"]
        return Answer(question, text, "extractive", not lapsed, (), language=language)
    citations: list[Citation] = []
    lines: list[str] = []
    for n, item in enumerate(listed, 1):
        citations.append(Citation.from_hit(n, Hit(chunk=item.passage, score=1.0), item.quote))
        line = words["item"].format(n=n, policy=item.policy)
        if item.measures:
            line += words["measures"].format(names=words["and"].join(item.measures))
        lines.append(line)
    shown = words["newest"].format(shown=len(listed)) if count > len(listed) else ""
    head = words[f"naming_{kind}" if naming else kind].format(
        count=count, newest=shown, kind=naming
    )
    text = "\n".join([head, *lines, words["tail"]])
    return Answer(question, text, "extractive", False, tuple(citations), language=language)


def first_line(chunk: Chunk) -> str:
    """The passage's first line that is not blank: a policy's opening passage shows its title."""
    return next((line.strip() for line in chunk.text.splitlines() if line.strip()), "")


NAMING_SEARCH = 300  # passages searched for a kind of enterprise; each policy is listed once
# A notice reprinted under another title names the kind in the same words. Two policies may
# share a short boilerplate scope sentence ("本办法适用于本市中小微企业。"), not a long one, nor
# what follows it as well.
REPRINT_SENTENCE = 80  # characters: a sentence this long is one notice's own words
REPRINT_CONTEXT = 60  # characters after a shorter sentence that a reprint repeats too


def _naming_words(passage: Chunk, sentence: str) -> str:
    """What a reprint of the policy repeats: its naming sentence, and what follows it in its
    passage when the sentence is short; spaces and line breaks aside."""
    if len(same_text_key(sentence)) >= REPRINT_SENTENCE:
        return same_text_key(sentence)
    at = max(passage.text.find(sentence), 0)
    return same_text_key(passage.text[at : at + len(sentence) + REPRINT_CONTEXT])


class CatalogueRoute:
    """Answers a question about the library itself with the policies its scope allows, and a
    question about a kind of enterprise's support with those that name it."""

    def __init__(self, library: Library, passages: PassageReader) -> None:
        self.library = library
        self.passages = passages

    def answer(self, asked: Asked) -> Answer | None:
        """The list of policies, or None when ``asked`` is not about the library. The list of
        those no longer in force carries each one's warning (expired on, repealed by)."""
        listing = self.listing(asked.question, asked.scope, asked.language)
        if listing is None:
            return None
        answer = self.library.annotate(listing, asked.as_of)
        return replace(answer, basis=())  # each policy's line is in the list already

    def listing(self, question: str, scope: Scope, language: str) -> Answer | None:
        """The list ``question`` asks for; None when it asks for none."""
        if asks_for_lapsed(question):
            return self.policies(question, scope, language, lapsed=True)
        if asks_for_catalogue(question):
            return self.policies(question, scope, language)
        kinds = kind_asked(question)
        return self.naming(question, kinds, scope, language) if kinds else None

    def policies(self, question: str, scope: Scope, language: str, lapsed: bool = False) -> Answer:
        """The policies ``scope`` allows, newest first, each citing its opening passage; with
        ``lapsed``, those of them that have expired or been repealed on the scope's day."""
        if lapsed:
            scope = replace(scope, in_force_only=False)
        records = self.library.records()
        allowed = self.library.filters(scope)
        if allowed is not None:
            records = {d: records[d] for d in allowed["doc_id"] if d in records}
        if lapsed:
            day = scope.day(self.library.today())
            records = {
                d: r
                for d, r in records.items()
                if self.library.status(d, day)[0] in ("expired", "superseded")
            }
        policies = distinct(list(records.values()))
        shown = newest(policies)
        openings = self.passages.chunks([chunk_id(r.doc_id, 0) for r in shown])
        listed = [
            self._listed(r, c, first_line(c), language)
            for r in shown
            if (c := openings.get(chunk_id(r.doc_id, 0)))
        ]
        kind: ListKind = "lapsed" if lapsed else "in_force" if scope.in_force_only else "all"
        return catalogue_answer(question, len(policies), listed, language, kind)

    def naming(
        self, question: str, kinds: tuple[str, ...], scope: Scope, language: str
    ) -> Answer | None:
        """The policies ``scope`` allows that name a kind of enterprise by one of ``kinds``
        (among the best ``NAMING_SEARCH`` passages a keyword search for them finds), newest
        first, each citing its best passage and the sentence there that names it; None when
        none does, or one does with no measures to name (the question is then searched as any
        other)."""
        found = self.passages.keyword_index().search(
            " ".join(kinds), NAMING_SEARCH, self.library.filters(scope)
        )
        chunks = self.passages.chunks([h.chunk_id for h in found])
        records = self.library.records()
        named: dict[str, tuple[Chunk, str]] = {}
        for hit in found:
            chunk = chunks.get(hit.chunk_id)
            sentence = naming_sentence(chunk.text, kinds, chunk.title) if chunk else None
            if chunk is None or sentence is None:
                continue
            # A clause that says whom the policy is for (本措施适用于…中小微企业) says most.
            rank = naming_rank(sentence, chunk.title)
            if chunk.doc_id not in named or rank > naming_rank(named[chunk.doc_id][1], chunk.title):
                named[chunk.doc_id] = (chunk, sentence)
        policies = distinct([records[d] for d in named if d in records])
        # A reprint is listed once, as its newest copy.
        by_words: dict[str, DocumentRecord] = {}
        for record in sorted(policies, key=_newest_first, reverse=True):
            by_words.setdefault(_naming_words(*named[record.doc_id]), record)
        policies = list(by_words.values())
        listed = [self._listed(r, *named[r.doc_id], language) for r in newest(policies)]
        if len(listed) < 2 and not any(item.measures for item in listed):
            # One policy's title says no more than its passages: "高新技术企业有什么奖励？" is
            # answered by the clause that sets the award.
            return None
        in_force: ListKind = "in_force" if scope.in_force_only else "all"
        return catalogue_answer(question, len(policies), listed, language, in_force, kinds[0])

    def _listed(self, record: DocumentRecord, passage: Chunk, quote: str, language: str) -> Listed:
        policy = self.library.policy_line(record, language)
        names = measures(self.passages.document_structure(record.doc_id), record.title)
        return Listed(policy, passage, quote, tuple(names))


class PickRoute:
    """After a list of policies, a question that names a place in it ("第二个政策的申请条件
    是什么？") is asked of that policy."""

    def __init__(self, catalogue: CatalogueRoute) -> None:
        self.catalogue = catalogue

    def rewrite(self, asked: Asked) -> Asked | None:
        """``asked`` with that policy's title for the words that named it, the scope narrowed
        to it and no history; None for any other question."""
        history = asked.history
        previous = next((t.content for t in reversed(history) if t.role == "user"), None)
        if previous is None:
            return None
        listed = self.catalogue.listing(previous, asked.scope, detect_language(previous))
        if listed is None:
            return None
        listing = listed.citations
        choice = picked(asked.question, len(listing))
        if choice is None:
            return None
        place, words = choice
        named = asked.question.replace(words, listing[place].title, 1)
        scope = replace(asked.scope, doc_ids=(listing[place].doc_id,))
        return replace(asked, question=named, scope=scope, history=())
