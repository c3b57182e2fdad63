"""The answer texts the service composes: the grounded prompt for an LLM, an extractive answer
quoting the selected sentences with citation marks, and a refusal that names what is related."""

from __future__ import annotations

from datetime import date

from chatbot.answering.extractive import Sentence
from chatbot.answering.llm import ChatMessage
from chatbot.answering.output_filter import CANARY
from chatbot.answering.prompts import (
    CONTEXT_TEMPLATE,
    EXTRACTIVE_INTRO,
    LANGUAGE_NAMES,
    PARTIAL_INTRO,
    PASSAGE_TEMPLATE,
    POSSIBLY_RELATED,
    QUOTE_SOURCE,
    REFUSAL,
    SYSTEM_PROMPT,
)
from index_store.records import Answer, Citation, Hit


def build_messages(question: str, hits: list[Hit], language: str, today: date) -> list[ChatMessage]:
    """The grounded prompt: system rules (with the date deadlines are judged against: today,
    or the day the user asked about), then the numbered passages and the question."""
    passages = "\n\n".join(
        PASSAGE_TEMPLATE.format(
            n=i,
            title=h.chunk.title,
            locator=f" › {h.chunk.locator}" if h.chunk.locator else "",
            text=h.chunk.text,
        )
        for i, h in enumerate(hits, 1)
    )
    return [
        ChatMessage(
            "system",
            SYSTEM_PROMPT.format(
                canary=CANARY, language_name=LANGUAGE_NAMES[language], today=today.isoformat()
            ),
        ),
        ChatMessage("user", CONTEXT_TEMPLATE.format(passages=passages, question=question)),
    ]


def names(title: str, quote: str) -> bool:
    """Whether ``title`` names its document before ``quote``: not when the document has none,
    or when its title is only its opening words (a document without a heading), which the
    quote would then repeat."""
    title, quote = "".join(title.split()), "".join(quote.split())
    return bool(title) and not (quote.startswith(title) or title.startswith(quote))


def extractive_answer(
    question: str,
    hits: list[Hit],
    sentences: list[Sentence],
    language: str,
    partial: bool = False,
) -> Answer:
    """Selected sentences verbatim, introduced as the closest passages when they may not
    answer in full (``partial``); each run of sentences from one passage ends with that
    passage's citation mark. Sentences on separate lines (list items) stay on separate lines;
    in Chinese a new run starts on a new line, so two quotes never read as one sentence. When
    the runs come from more than one policy, each opens with its policy's name, if it has one."""
    numbers: dict[int, int] = {}
    quotes: dict[int, list[str]] = {}
    space = "" if language == "zh" else " "
    between_runs = "\n" if language == "zh" else " "
    several = len({hits[s.hit_index].chunk.doc_id for s in sentences}) > 1
    intro = PARTIAL_INTRO if partial else EXTRACTIVE_INTRO
    text = intro[language] + ("\n" if language == "zh" else " ")
    for i, s in enumerate(sentences):
        n = numbers.setdefault(s.hit_index, len(numbers) + 1)
        quotes.setdefault(s.hit_index, []).append(s.text)
        title = hits[s.hit_index].chunk.title
        if several and (i == 0 or sentences[i - 1].hit_index != s.hit_index):
            text += QUOTE_SOURCE[language].format(title=title) if names(title, s.text) else ""
        text += s.text
        nxt = sentences[i + 1] if i + 1 < len(sentences) else None
        if nxt is not None and nxt.hit_index == s.hit_index:
            # English sentences quoted in a Chinese answer keep the space between them.
            gap = hits[s.hit_index].chunk.text[s.end : nxt.start]
            latin = gap[:1].isspace() and s.text[-1:].isascii()
            text += "\n" if "\n" in gap else " " if latin else space
        else:
            text += f"{space}[{n}]" + (between_runs if nxt is not None else "")
    citations = tuple(
        Citation.from_hit(n, hits[i], quote="\n".join(quotes[i])) for i, n in numbers.items()
    )
    return Answer(
        question=question,
        answer=text,
        mode="extractive",
        refused=False,
        citations=citations,
        language=language,
        partial=partial,
    )


def refusal_answer(question: str, hits: list[Hit], language: str) -> Answer:
    """A plain refusal that still shows the closest passages as possibly related."""
    related = hits[:3]
    lines = [REFUSAL[language]]
    if related:
        lines.append(POSSIBLY_RELATED[language])
        lines.extend(
            f"[{i}] {h.chunk.title}" + (f" › {h.chunk.locator}" if h.chunk.locator else "")
            for i, h in enumerate(related, 1)
        )
    return Answer(
        question=question,
        answer="\n".join(lines),
        mode="extractive",
        refused=True,
        citations=tuple(Citation.from_hit(i, h) for i, h in enumerate(related, 1)),
        language=language,
    )
