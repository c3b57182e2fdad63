"""What the chat interfaces (UI and HTTP API) share, built once by the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatbot.answering.service import AnswerService
from chatbot.web.auth import Access
from chatbot.web.doc_view import DocLinks
from chatbot.web.feedback import FeedbackStore
from index_store.policy import Scope


@dataclass(frozen=True)
class ChatContext:
    service: AnswerService
    access: Access = field(default_factory=Access)
    links: DocLinks = field(default_factory=DocLinks)
    feedback: FeedbackStore | None = None
    # Recorded with each feedback item: what produced the answer.
    config: dict[str, Any] = field(default_factory=dict)
    in_force_default: bool = True  # POLICYQA_IN_FORCE_ONLY

    def scope_for(self, principal: str | None, **narrowing: Any) -> Scope:
        """The scope of one question: the principal's labels plus the asker's filters (policies
        in force only, unless the asker or the settings say otherwise)."""
        narrowing.setdefault("in_force_only", self.in_force_default)
        return Scope(labels=self.access.labels_for(principal), **narrowing)
