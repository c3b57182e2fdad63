"""One question as the answer routes see it (:class:`Asked`), and what a route finds to answer
it from (:class:`Evidence`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from chatbot.answering.extractive import Sentence
from chatbot.answering.questions import Turn
from index_store.policy import Scope
from index_store.records import Hit


@dataclass(frozen=True)
class Asked:
    """One question as the routes see it. ``question`` is what is answered (a pick from a
    list of policies rewrites it), ``asked`` what the user typed, ``query`` the question made
    to stand alone for the search."""

    question: str
    asked: str
    history: tuple[Turn, ...]
    scope: Scope
    language: str
    as_of: date
    query: str = ""


@dataclass(frozen=True)
class Evidence:
    """The passages an answer draws on, best first, the sentences that answer, and whether
    they are too weak to answer from. ``located``: found by a list-position follow-up (the
    entry's own text, read no further). ``notice``: said with the answer (the policies quoted
    are no longer in force). ``partial``: strong enough to answer from, but perhaps not in
    full (``RefusalPolicy.partial``)."""

    hits: list[Hit]
    sentences: list[Sentence]
    refused: bool
    located: bool = False
    notice: str | None = None
    partial: bool = False
