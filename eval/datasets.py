"""Eval set loaders. An eval set is a folder with ``corpus.jsonl`` (``doc_id``, ``text``,
optional ``title``) and ``queries.jsonl`` (``qid``, ``question``, optional ``answer``,
``gold_doc_id`` or ``gold_doc_ids``, optional ``answer_start``)."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index_store.errors import PolicyQAError


@dataclass(frozen=True)
class EvalDocument:
    doc_id: str
    text: str
    title: str


@dataclass(frozen=True)
class EvalQuery:
    qid: str
    question: str
    gold_doc_ids: tuple[str, ...]
    answer: str | None = None
    answer_start: int | None = None


@dataclass(frozen=True)
class EvalSet:
    name: str
    documents: tuple[EvalDocument, ...]
    queries: tuple[EvalQuery, ...]
    fingerprint: str

    def sample(self, limit: int | None, seed: int) -> EvalSet:
        """A fixed random sample of ``limit`` queries (all of them when ``limit`` is None)."""
        if limit is None or limit >= len(self.queries):
            return self
        rng = random.Random(seed)
        picked = sorted(rng.sample(range(len(self.queries)), limit))
        return EvalSet(
            self.name, self.documents, tuple(self.queries[i] for i in picked), self.fingerprint
        )


def _read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise PolicyQAError(f"{path}:{n}: invalid JSON ({exc.msg})") from exc


def _title(row: dict[str, object], text: str) -> str:
    for key in ("title", "title_guess"):
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    first = text.strip().split("\n", 1)[0]
    return first[:40]


def load_jsonl_set(folder: Path) -> EvalSet:
    """Load a set in the common format (``ncp-policy-qa``, ``msgabench-gov-faq``, your own)."""
    corpus_path, queries_path = folder / "corpus.jsonl", folder / "queries.jsonl"
    for path in (corpus_path, queries_path):
        if not path.exists():
            raise PolicyQAError(
                f"{path} is missing: an eval set needs corpus.jsonl and queries.jsonl"
            )
    documents = tuple(
        EvalDocument(str(r["doc_id"]), str(r["text"]), _title(r, str(r["text"])))
        for r in _read_jsonl(corpus_path)
    )
    queries: list[EvalQuery] = []
    for r in _read_jsonl(queries_path):
        gold = r.get("gold_doc_ids") or ([r["gold_doc_id"]] if r.get("gold_doc_id") else [])
        if not isinstance(gold, list):
            raise PolicyQAError(f"{queries_path}: gold_doc_ids of {r.get('qid')!r} is not a list")
        start = r.get("answer_start")
        queries.append(
            EvalQuery(
                qid=str(r.get("qid") or r.get("gid")),
                question=str(r["question"]),
                gold_doc_ids=tuple(str(g) for g in gold),
                answer=str(r["answer"]) if r.get("answer") else None,
                answer_start=int(start) if isinstance(start, int) else None,
            )
        )
    digest = hashlib.sha256(corpus_path.read_bytes()).hexdigest()[:16]
    return EvalSet(folder.name, documents, tuple(queries), digest)
