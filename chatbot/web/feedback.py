"""Answer feedback that becomes tests: thumbs up/down with a reason, stored with the question,
answer, citations and configuration; staff review items and export them as an eval set
(``queries.jsonl`` plus the cited documents as ``corpus.jsonl``) that ``policyqa eval run``
reads, so a fixed bad answer stays fixed."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from index_store.errors import PolicyQAError
from index_store.records import public_source
from index_store.store import IndexStore

FeedbackStatus = Literal["new", "reviewed", "dismissed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    rating INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    principal TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL,
    citations TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    expected TEXT NOT NULL DEFAULT '',
    gold_sources TEXT NOT NULL DEFAULT '[]',
    should_refuse INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class FeedbackItem:
    id: int
    created_at: str
    rating: int  # +1 thumbs up, -1 thumbs down
    reason: str
    principal: str
    question: str
    answer: str
    refused: bool
    citations: tuple[dict[str, Any], ...]  # as ``render.citation_json`` wrote them
    config: dict[str, Any]
    status: FeedbackStatus
    expected: str  # the span a correct answer holds (staff's words, or the answer's quote)
    gold_sources: tuple[str, ...]  # documents by source key: stable across re-ingests
    should_refuse: bool


class FeedbackStore:
    """SQLite file of feedback items; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        with self._tx() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._conn:
            yield self._conn

    def add(
        self,
        answer: dict[str, Any],
        rating: int,
        config: dict[str, Any],
        principal: str = "",
        reason: str = "",
    ) -> int:
        """Store one rating of an answer (``render.answer_json`` form); returns its id."""
        if rating not in (1, -1):
            raise PolicyQAError(f"rating must be 1 or -1, not {rating!r}")
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"), rating, reason.strip(), principal,
            answer["question"], answer["answer"], int(bool(answer["refused"])),
            json.dumps(answer["citations"], ensure_ascii=False),
            json.dumps(config, ensure_ascii=False),
        )  # fmt: skip
        with self._tx() as conn:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, rating, reason, principal, question, answer, "
                "refused, citations, config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        return int(cursor.lastrowid or 0)

    def set_reason(self, item_id: int, reason: str) -> None:
        self._update(item_id, "reason = ?", (reason.strip(),))

    def review(
        self,
        item_id: int,
        status: FeedbackStatus,
        expected: str = "",
        gold_sources: Sequence[str] = (),
        should_refuse: bool = False,
    ) -> None:
        """Staff's verdict: what a correct answer holds and which documents it should cite."""
        self._update(
            item_id,
            "status = ?, expected = ?, gold_sources = ?, should_refuse = ?",
            (status, expected.strip(), json.dumps(list(gold_sources)), int(should_refuse)),
        )

    def _update(self, item_id: int, assignments: str, values: tuple[Any, ...]) -> None:
        with self._tx() as conn:
            changed = conn.execute(
                f"UPDATE feedback SET {assignments} WHERE id = ?", (*values, item_id)
            ).rowcount
        if not changed:
            raise PolicyQAError(f"no feedback item {item_id}")

    def get(self, item_id: int) -> FeedbackItem:
        items = self.items(ids=[item_id])
        if not items:
            raise PolicyQAError(f"no feedback item {item_id}")
        return items[0]

    def items(
        self, status: FeedbackStatus | None = None, ids: Sequence[int] | None = None
    ) -> list[FeedbackItem]:
        sql, args = "SELECT * FROM feedback WHERE 1=1", list[str]()
        if status is not None:
            sql, args = sql + " AND status = ?", [status]
        if ids is not None:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            args.extend(str(i) for i in ids)
        with self._tx() as conn:
            rows = conn.execute(sql + " ORDER BY id DESC", args).fetchall()
        return [_item(r) for r in rows]

    def close(self) -> None:
        self._conn.close()


def _item(r: tuple[Any, ...]) -> FeedbackItem:
    return FeedbackItem(
        id=int(r[0]), created_at=r[1], rating=int(r[2]), reason=r[3], principal=r[4],
        question=r[5], answer=r[6], refused=bool(r[7]), citations=tuple(json.loads(r[8])),
        config=json.loads(r[9]), status=r[10], expected=r[11],
        gold_sources=tuple(json.loads(r[12])), should_refuse=bool(r[13]),
    )  # fmt: skip


def eval_case(item: FeedbackItem) -> dict[str, Any]:
    """One reviewed item as a ``queries.jsonl`` row (``eval.datasets.load_jsonl_set``)."""
    row: dict[str, Any] = {"qid": f"feedback-{item.id}", "question": item.question}
    if item.should_refuse:
        row["should_refuse"] = True
        return row
    row["gold_doc_ids"] = list(item.gold_sources) or [c["source"] for c in item.citations[:1]]
    if item.expected:
        row["answer"] = item.expected
    return row


def index_corpus(store: IndexStore) -> Iterator[tuple[str, str, str]]:
    """(source, title, text) of every document in the index: the corpus of an exported set,
    each source as clients saw it in citations (``public_source``)."""
    for record in store.documents():
        text = store.document_text(record.doc_id) or ""
        yield public_source(record.source), record.title, text


def export_eval_set(
    store: FeedbackStore, folder: Path, documents: Iterable[tuple[str, str, str]]
) -> int:
    """Write the reviewed items to ``folder`` as an eval set: ``queries.jsonl``, and
    ``corpus.jsonl`` holding ``documents`` ((source, title, text) of the index, the
    distractors included). Returns the number of cases."""
    cases = [eval_case(i) for i in reversed(store.items("reviewed"))]
    if not cases:
        raise PolicyQAError("no reviewed feedback to export: review items first")
    corpus = [{"doc_id": s, "title": t, "text": x} for s, t, x in documents]
    missing = {d for c in cases for d in c.get("gold_doc_ids", [])} - {r["doc_id"] for r in corpus}
    if missing:
        raise PolicyQAError(
            f"gold documents no longer in the index: {sorted(missing)}; re-review those items"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("queries.jsonl", cases), ("corpus.jsonl", corpus)):
        with (folder / name).open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return len(cases)
