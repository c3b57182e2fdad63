"""Optional LLM judge for eval runs: a structured JSON verdict on faithfulness to the cited
passages and agreement with the reference. A reply that is not that JSON is counted as a parse
failure, never read as "yes" because a word appears in it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from chatbot.answering.llm import ChatMessage, LLMClient, LLMError
from chatbot.answering.prompts import JUDGE_PROMPT
from index_store.records import Answer

_JSON_OBJECT = re.compile(r"\{.*\}", re.S)


@dataclass(frozen=True)
class Verdict:
    faithful: bool | None  # None: the judge failed or replied unparseably
    agrees: bool | None
    parse_failed: bool


def parse_verdict(reply: str) -> Verdict:
    """The verdict in ``reply``; only a JSON object with boolean fields counts."""
    match = _JSON_OBJECT.search(reply)
    try:
        data = json.loads(match.group() if match else reply)
    except json.JSONDecodeError:
        return Verdict(None, None, True)
    if not isinstance(data, dict) or not isinstance(data.get("faithful"), bool):
        return Verdict(None, None, True)
    agrees = data.get("agrees")
    if agrees is not None and not isinstance(agrees, bool):
        return Verdict(None, None, True)
    return Verdict(data["faithful"], agrees, False)


def judge(llm: LLMClient, answer: Answer, reference: str | None) -> Verdict:
    passages = "\n\n".join(f"[{c.n}] {c.text}" for c in answer.citations) or "(none)"
    prompt = JUDGE_PROMPT.format(
        question=answer.question, passages=passages, reference=reference or "(none)",
        answer=answer.answer,
    )  # fmt: skip
    try:
        reply = llm.complete([ChatMessage("user", prompt)])
    except LLMError:
        return Verdict(None, None, True)
    return parse_verdict(reply)
