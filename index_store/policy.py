"""What a document is as a policy: lifecycle metadata, access labels, and which documents a
question may draw on (its :class:`Scope`).

Everything here is plain data and pure functions over document records, so the same rules hold
for the registry (embedded mode) and for a server-mode replica's catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from index_store.records import DocumentRecord

PUBLIC_LABEL = "public"
# What repeals a policy in a clause: "《…办法》同时废止", "原…停止执行", "…不再实施".
REPEAL = re.compile(r"废止|停止(?:执行|实施)|不再(?:执行|实施)")
DEFAULT_COLLECTION = "default"
_LIST_SEPARATOR = "\n"


@dataclass(frozen=True)
class PolicyInfo:
    """Lifecycle, ownership and provenance of one document. An empty field means "unknown":
    extraction leaves a field empty rather than guess. Dates are ISO ``YYYY-MM-DD`` strings."""

    issuer: str = ""  # 发文机关, or the owner of an English policy
    doc_number: str = ""  # 文号 (皖政办〔2026〕3号), or an English policy's version
    published: str = ""
    effective: str = ""
    expires: str = ""
    region: str = ""
    replaces: tuple[str, ...] = ()  # titles or 文号 of the policies this one repeals
    collection: str = DEFAULT_COLLECTION
    labels: tuple[str, ...] = (PUBLIC_LABEL,)
    # Pages ("1", "3") whose text was read by OCR: their citations say so.
    ocr_pages: tuple[str, ...] = ()

    def to_metadata(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _LIST_SEPARATOR.join(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str]) -> PolicyInfo:
        """The inverse of :meth:`to_metadata`; documents indexed before lifecycle metadata
        existed read as unknown, public, in the default collection."""
        default = cls()
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = meta.get(f.name)
            if raw is None:
                continue
            is_list = isinstance(getattr(default, f.name), tuple)
            values[f.name] = tuple(v for v in raw.split(_LIST_SEPARATOR) if v) if is_list else raw
        info = cls(**values)  # type: ignore[arg-type]
        return info if info.labels else replace(info, labels=(PUBLIC_LABEL,))

    def validity(self) -> tuple[str, str]:
        """(from, until) for display; either may be empty (unknown)."""
        return self.effective or self.published, self.expires


LifecycleStatus = Literal["in_force", "expired", "superseded", "not_yet_effective"]


def repeals(sentence: str) -> bool:
    """Whether ``sentence`` repeals a policy ("《…办法》同时废止")."""
    return bool(REPEAL.search(sentence))


def _key(name: str) -> str:
    """Titles and 文号 compared without brackets, quotes and spaces."""
    return "".join(ch for ch in name if ch not in "《》〈〉“”\"' \u3000")


def supersessions(records: Iterable[DocumentRecord]) -> dict[str, DocumentRecord]:
    """Replaced document id -> the document that repeals it (by title or 文号 in its
    ``replaces`` list). The newest repealing document wins when there are several."""
    records = list(records)
    by_name: dict[str, list[DocumentRecord]] = {}
    for r in records:
        for name in (r.title, r.info.doc_number):
            if name:
                by_name.setdefault(_key(name), []).append(r)
    replaced: dict[str, DocumentRecord] = {}
    for newer in sorted(records, key=lambda r: r.info.effective or r.info.published):
        for name in newer.info.replaces:
            for old in by_name.get(_key(name), []):
                if old.doc_id != newer.doc_id:
                    replaced[old.doc_id] = newer
    return replaced


def lifecycle_status(
    record: DocumentRecord, as_of: date, superseded_by: DocumentRecord | None = None
) -> LifecycleStatus:
    """Whether a policy is in force on ``as_of``. Unknown dates count as in force: a policy
    is only hidden or flagged on evidence (a stated expiry, a later date, a repeal)."""
    day = as_of.isoformat()
    info = record.info
    if info.effective and info.effective > day:
        return "not_yet_effective"
    if superseded_by is not None:  # before "expired": it names the policy to read instead
        start = superseded_by.info.effective or superseded_by.info.published
        if not start or start <= day:
            return "superseded"
    if info.expires and info.expires < day:
        return "expired"
    return "in_force"


@dataclass(frozen=True)
class Scope:
    """Which documents a question may draw on.

    ``labels`` are the access labels the asker may read (None: all, for operators on the
    command line). ``as_of`` is the day whose policies count as in force (None: today), and
    ``in_force_only=False`` lifts that restriction. The other fields narrow the search; empty
    means no restriction. ``published_from``/``published_to`` compare with a document's
    publish date (else its effective date); documents with neither are kept.
    """

    labels: frozenset[str] | None = None
    as_of: date | None = None
    in_force_only: bool = True
    regions: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    published_from: date | None = None
    published_to: date | None = None
    doc_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def day(self, today: date) -> date:
        return self.as_of or today


def readable(record: DocumentRecord, labels: frozenset[str] | None) -> bool:
    return labels is None or bool(labels.intersection(record.info.labels))


def _matches(record: DocumentRecord, scope: Scope) -> bool:
    info = record.info
    if scope.doc_ids and record.doc_id not in scope.doc_ids:
        return False
    if scope.sources and record.source not in scope.sources:
        return False
    if scope.regions and not any(r and r in info.region for r in scope.regions):
        return False
    if scope.issuers and not any(i and i in info.issuer for i in scope.issuers):
        return False
    published = info.published or info.effective
    if published and scope.published_from and published < scope.published_from.isoformat():
        return False
    return not (published and scope.published_to and published > scope.published_to.isoformat())


def select_documents(
    records: Sequence[DocumentRecord], scope: Scope, today: date
) -> list[DocumentRecord]:
    """The documents ``scope`` lets a question draw on: readable, matching the filters and,
    unless ``in_force_only`` is off, in force on the scope's day."""
    replaced = supersessions(records) if scope.in_force_only else {}
    day = scope.day(today)
    return [
        r
        for r in records
        if readable(r, scope.labels)
        and _matches(r, scope)
        and (
            not scope.in_force_only
            or lifecycle_status(r, day, replaced.get(r.doc_id)) == "in_force"
        )
    ]
