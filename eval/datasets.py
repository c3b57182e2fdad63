"""Eval set loaders. An eval set is a folder with ``corpus.jsonl`` (``doc_id``, ``text``,
optional ``title``) and ``queries.jsonl`` (``qid``, ``question``, optional ``answer``,
``gold_doc_id`` or ``gold_doc_ids``, optional ``answer_start``)."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from index_store.errors import ConfigError, PolicyQAError

Split = Literal["all", "dev", "test"]
# Reads one markdown page as (text, title), as ingest would.
PageReader = Callable[[Path], tuple[str, str]]


def split_of(qid: str) -> Split:
    digest = hashlib.sha256(f"policyqa-split|{qid}".encode()).digest()
    return "dev" if digest[0] % 10 < 7 else "test"


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
    # Further acceptable answers (privacy set: every gold span).
    alt_answers: tuple[str, ...] = ()
    # Verbatim evidence quotes in the gold documents (handbook set).
    evidence: tuple[str, ...] = ()
    # Earlier user turns of the conversation (handbook "contextual anaphora" questions).
    history: tuple[str, ...] = ()
    # Retrieval restricted to these documents (privacy set: the question's own policy).
    scope: tuple[str, ...] = ()
    should_refuse: bool = False

    @property
    def answers(self) -> tuple[str, ...]:
        return ((self.answer,) if self.answer else ()) + self.alt_answers


@dataclass(frozen=True)
class EvalSet:
    name: str
    documents: tuple[EvalDocument, ...]
    queries: tuple[EvalQuery, ...]
    fingerprint: str
    part: Split = "all"  # which split of the questions (see ``split``)

    def split(self, part: Split) -> EvalSet:
        """``dev`` (7 in 10 questions) to tune on, ``test`` (the other 3) to report; the split
        depends on the question id alone, so it is the same in every run and sample."""
        if part == "all":
            return self
        kept = tuple(q for q in self.queries if split_of(q.qid) == part)
        return replace(self, queries=kept, part=part)

    def sample(self, limit: int | None, seed: int) -> EvalSet:
        """A fixed random sample of ``limit`` queries (all of them when ``limit`` is None)."""
        if limit is None or limit >= len(self.queries):
            return self
        rng = random.Random(seed)
        picked = sorted(rng.sample(range(len(self.queries)), limit))
        return replace(self, queries=tuple(self.queries[i] for i in picked))


def _read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise PolicyQAError(f"{path}:{n}: invalid JSON ({exc.msg})") from exc


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyQAError(f"expected a list, got {value!r:.80}")
    return value


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
        if r.get("should_refuse"):
            queries.append(
                EvalQuery(
                    str(r.get("qid") or r.get("gid")), str(r["question"]), (), should_refuse=True
                )
            )
            continue
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


def load_privacy_set(folder: Path) -> EvalSet:
    """``policyqa-privacy``: paragraphs of 20 policies; each grouped question is asked within
    its own policy (retrieval scoped to that policy's paragraphs) and has every gold span."""
    rows = list(_read_jsonl(folder / "corpus.jsonl"))
    documents = tuple(
        EvalDocument(str(r["doc_id"]), str(r["text"]), str(r["policy"])) for r in rows
    )
    by_policy: dict[str, list[str]] = {}
    for r in rows:
        by_policy.setdefault(str(r["policy"]), []).append(str(r["doc_id"]))
    queries = []
    for r in _read_jsonl(folder / "queries_grouped.jsonl"):
        answers = [str(a) for a in _as_list(r.get("answers"))]
        queries.append(
            EvalQuery(
                qid=str(r["gid"]),
                question=str(r["question"]),
                gold_doc_ids=tuple(str(g) for g in _as_list(r["gold_doc_ids"])),
                answer=answers[0] if answers else None,
                alt_answers=tuple(answers[1:]),
                scope=tuple(by_policy[str(r["policy"])]),
            )
        )
    digest = hashlib.sha256((folder / "corpus.jsonl").read_bytes()).hexdigest()[:16]
    return EvalSet(folder.name, documents, tuple(queries), digest)


HANDBOOK_SKIP = {"multimodal.jsonl"}  # answers live in images that are not in the set


def load_handbook_set(folder: Path, read_page: PageReader | None) -> EvalSet:
    """``gitlab-handbook-rag``: markdown pages read by ``read_page`` (the app's own loader, passed
    in by the composition root; doc id = path under ``handbook/``); questions from
    ``datasets/*.jsonl`` except the image-based ones; the previous user turn of follow-up
    questions becomes history."""
    if read_page is None:
        raise ConfigError(
            f"{folder} holds markdown pages: load it through policyqa.evaluation, which reads "
            "them with the ingest loader"
        )
    root = folder / "handbook"
    documents = []
    hasher = hashlib.sha256()
    for path in sorted(root.rglob("*.md")):
        text, title = read_page(path)
        doc_id = path.relative_to(root).as_posix()
        hasher.update(doc_id.encode() + b"\0" + text.encode())
        documents.append(EvalDocument(doc_id, text, title))
    queries = []
    for qfile in sorted((folder / "datasets").glob("*.jsonl")):
        if qfile.name in HANDBOOK_SKIP:
            continue
        for r in _read_jsonl(qfile):
            gold: list[str] = []
            quotes: list[str] = []
            for item in _as_list(r.get("retrieval")):
                for doc_id, evidence in item.items():
                    gold.append(str(doc_id))
                    quotes.extend(str(q) for q in evidence)
            context = r.get("context")
            queries.append(
                EvalQuery(
                    qid=f"{qfile.stem}-{r['id']}",
                    question=str(r["question"]),
                    gold_doc_ids=tuple(dict.fromkeys(gold)),
                    answer=str(r["answer"]) if r.get("answer") else None,
                    evidence=tuple(quotes),
                    history=(str(context),) if context else (),
                )
            )
    return EvalSet(folder.name, tuple(documents), tuple(queries), hasher.hexdigest()[:16])


def load_eval_set(folder: Path, read_page: PageReader | None = None) -> EvalSet:
    """Any eval set: the two shared sets with their own layout, else the common format.
    ``read_page`` reads a markdown page as (text, title); only the handbook layout needs it."""
    if (folder / "queries_grouped.jsonl").exists():
        return load_privacy_set(folder)
    if (folder / "handbook").is_dir() and (folder / "datasets").is_dir():
        return load_handbook_set(folder, read_page)
    return load_jsonl_set(folder)
