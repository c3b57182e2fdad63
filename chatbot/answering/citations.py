"""Citation marks in model output: keep only numbers of passages actually given, also while
streaming; and find numbers in an answer that no cited passage contains."""

from __future__ import annotations

import re

_MARK = re.compile(r"\[(\d{1,3})\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")


def cited_numbers(text: str) -> set[int]:
    return {int(m.group(1)) for m in _MARK.finditer(text)}


class CitationStreamFilter:
    """Drops ``[n]`` marks whose ``n`` is not a given passage, from text that arrives in
    arbitrary pieces: a ``[`` is held back until the mark is complete or proves not to be one."""

    def __init__(self, valid: set[int]) -> None:
        self.valid = valid
        self._held = ""

    def feed(self, delta: str) -> str:
        text = self._held + delta
        self._held = ""
        out: list[str] = []
        i = 0
        while i < len(text):
            if text[i] != "[":
                out.append(text[i])
                i += 1
                continue
            match = re.match(r"\[(\d{0,3})(\]?)", text[i:])
            assert match is not None
            if not match.group(2):
                rest = text[i + len(match.group(0)) :]
                if not rest and len(match.group(1)) < 3:
                    self._held = text[i:]  # may still become a mark
                    break
                out.append("[")
                i += 1
                continue
            if match.group(1) and int(match.group(1)) in self.valid:
                out.append(match.group(0))
            elif not match.group(1):
                out.append("[]")
            i += len(match.group(0))
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


def unverified_numbers(answer: str, passages: list[str]) -> list[str]:
    """Amounts, percentages and dates in ``answer`` that appear in none of ``passages``
    (citation marks themselves are not numbers of the answer)."""
    body = _MARK.sub("", answer)
    haystack = "\n".join(passages)
    seen: list[str] = []
    for match in _NUMBER.finditer(body):
        number = match.group()
        if number not in haystack and number not in seen:
            seen.append(number)
    return seen
