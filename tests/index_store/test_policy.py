"""Which documents a scope allows: labels, lifecycle on a day, filters."""

from __future__ import annotations

from datetime import date

import pytest

from index_store.policy import (
    PolicyInfo,
    Scope,
    lifecycle_status,
    repeals,
    select_documents,
    supersessions,
)
from index_store.records import DocumentRecord


def doc(doc_id: str, title: str = "", **info: object) -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id, source=f"/docs/{doc_id}.txt", title=title or doc_id, kind="text",
        content_hash="h", n_chunks=1, n_chars=10, ingested_at="2026-01-01",
        info=PolicyInfo(**info),  # type: ignore[arg-type]
    )  # fmt: skip


OLD = doc("old", "旧办法", doc_number="示政办〔2024〕5号", effective="2024-01-01",
          expires="2025-12-31", region="示例市", issuer="示例市人民政府办公室")  # fmt: skip
NEW = doc("new", "新措施", effective="2026-01-01", expires="2027-12-31", published="2025-12-20",
          replaces=("示政办〔2024〕5号",), region="示例市", issuer="示例市人民政府办公室")  # fmt: skip
LATER = doc("later", "明年办法", effective="2027-01-01", region="示例区")
SECRET = doc("secret", "内部指引", labels=("internal",))
UNDATED = doc("undated", "无日期")
ALL = [OLD, NEW, LATER, SECRET, UNDATED]


@pytest.mark.parametrize(
    ("record", "day", "expected"),
    [
        (OLD, date(2025, 6, 1), "in_force"),
        (OLD, date(2026, 1, 1), "superseded"),  # repealed and the repealer is in force
        (NEW, date(2025, 12, 31), "not_yet_effective"),
        (NEW, date(2027, 12, 31), "in_force"),  # the last day still counts
        (NEW, date(2028, 1, 1), "expired"),
        (UNDATED, date(1990, 1, 1), "in_force"),  # unknown dates never hide a policy
    ],
)
def test_lifecycle_status(record: DocumentRecord, day: date, expected: str) -> None:
    assert lifecycle_status(record, day, supersessions(ALL).get(record.doc_id)) == expected


def test_supersession_by_title_or_number() -> None:
    by_title = doc("t", "再新措施", replaces=("《新措施》",))
    replaced = supersessions([*ALL, by_title])
    assert replaced["old"].doc_id == "new" and replaced["new"].doc_id == "t"
    assert "t" not in replaced


def ids(scope: Scope, day: date = date(2026, 6, 1)) -> set[str]:
    return {r.doc_id for r in select_documents(ALL, scope, day)}


def test_scopes() -> None:
    assert ids(Scope()) == {"new", "secret", "undated"}  # in force today, every label
    assert ids(Scope(labels=frozenset({"public"}))) == {"new", "undated"}
    assert ids(Scope(labels=frozenset({"internal"}))) == {"secret"}
    assert ids(Scope(as_of=date(2025, 6, 1))) == {"old", "secret", "undated"}
    assert ids(Scope(in_force_only=False)) == {d.doc_id for d in ALL}
    assert ids(Scope(in_force_only=False, regions=("示例区",))) == {"later"}
    assert ids(Scope(in_force_only=False, issuers=("人民政府",))) == {"old", "new"}
    # Publish date (else effective date) within the range; undated documents stay.
    window = Scope(
        in_force_only=False, published_from=date(2025, 1, 1), published_to=date(2026, 12, 31)
    )
    assert ids(window) == {"new", "secret", "undated"}
    assert ids(Scope(in_force_only=False, doc_ids=("old",), labels=frozenset({"x"}))) == set()


def test_a_clause_that_repeals_a_policy() -> None:
    assert repeals("第九条 《示例市扶持小微企业创业发展办法》（示政办〔2024〕5号）同时废止。")
    assert repeals("原《通知》自本办法施行之日起停止执行。")
    assert not repeals("申报时间为每年3月1日至4月30日，逾期不予受理。")
