"""Lifecycle metadata comes from what the text states, and only from that."""

from __future__ import annotations

import pytest

from index_store.policy import PolicyInfo
from ingest.policy_meta import extract_policy_info

HEADER = "示例省人民政府办公厅\n皖政办〔2026〕3号\n\n"
BODY = "第一条 为支持中小企业发展，制定本办法。" * 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEADER + BODY + "第九条 本办法自2026年3月1日起施行，有效期至2028年2月29日。",
            {"issuer": "示例省人民政府办公厅", "doc_number": "皖政办〔2026〕3号",
             "effective": "2026-03-01", "expires": "2028-02-29", "region": "示例省"},
        ),
        (  # "有效期N年" counts from the effective date; 29 February has no twin in 2027
            BODY + "本办法自2024年2月29日起施行，有效期三年。",
            {"effective": "2024-02-29", "expires": "2027-02-28"},
        ),
        (  # effective on issue: the signature's date; issuer from the signature
            BODY + "本通知自印发之日起施行。\n合肥市财政局 合肥市商务局\n2020年2月7日",
            {"issuer": "合肥市财政局 合肥市商务局", "published": "2020-02-07",
             "effective": "2020-02-07", "region": "合肥市"},
        ),
        (  # a 文号 inside 《》（…）cites another document: not this one's number
            "根据《国务院办公厅关于支持企业的意见》（国办发〔2020〕6号）精神，" + BODY,
            {"doc_number": ""},
        ),
        (  # repeals: titles and numbers of the replaced policies
            BODY + "《示例市扶持办法》（示政办〔2024〕5号）同时废止。",
            {"replaces": ("示例市扶持办法", "示政办〔2024〕5号")},
        ),
        (  # a policy that stops applying is repealed, as the answers read it (index_store.policy)
            BODY + "原《示例市创业办法》自本办法施行之日起停止执行。",
            {"replaces": ("示例市创业办法",)},
        ),
        (  # the province comes from the 文号's abbreviation when nothing else names it
            "关于做好复工复产的通知\n苏政发〔2020〕15号\n" + BODY,
            {"region": "江苏省", "doc_number": "苏政发〔2020〕15号"},
        ),
        (  # nothing stated, nothing guessed
            BODY,
            {"issuer": "", "doc_number": "", "published": "", "effective": "", "expires": "",
             "region": "", "replaces": ()},
        ),
        (
            "# Refund Policy\n\nVersion 2.1, effective 1 February 2026, owned by Customer "
            "Support.\n\nItems may be returned within 30 days.",
            {"doc_number": "Version 2.1", "effective": "2026-02-01", "issuer": "Customer Support"},
        ),
        (
            "Policy owner: Legal team\nEffective date: 2025-07-01\nValid until: March 31, 2027\n"
            "Text.",
            {"issuer": "Legal team", "effective": "2025-07-01", "expires": "2027-03-31"},
        ),
        ("Effective date: 2025-02-30\nText.", {"effective": ""}),  # no such day
    ],
)  # fmt: skip
def test_extraction_table(text: str, expected: dict[str, object]) -> None:
    info = extract_policy_info(text, "示例办法")
    assert {k: getattr(info, k) for k in expected} == expected


def test_metadata_round_trip_and_old_rows() -> None:
    info = PolicyInfo(
        doc_number="示政办〔2026〕3号", replaces=("甲", "乙"), labels=("hr", "internal")
    )
    assert PolicyInfo.from_metadata(info.to_metadata()) == info
    # Documents indexed before lifecycle metadata: unknown, public, default collection.
    assert PolicyInfo.from_metadata({}) == PolicyInfo()
    assert PolicyInfo.from_metadata({"labels": ""}).labels == ("public",)
