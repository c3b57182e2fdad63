"""Clause locators name the exact clause, paragraph (款) and page."""

from __future__ import annotations

import pytest

from chatbot.answering.clauses import clause_locator

LAW = (
    "示例条例\n第一章 总则\n第一条 本条例适用于本市中小企业。\n"
    "第三章 扶持措施\n第十二条 企业可以申请补贴。\n前款规定的补贴，每户不超过10万元。\n"
    "（一）制造业企业；\n（二）服务业企业。\n第十三条 其他事项。"
)
POLICY = "Refunds\n\nSection 4.2 Refunds\n(a) Items may be returned.\n(b) Refunds take 5 days.\n"
# Short clauses merge into one chunk whose heading path stops at their parent (or the title).
MERGED = (
    "Policy\n\n## Section 2 Refunds\n\n2.1 Standard items\nReturn unused items within 30 days.\n\n"
    "2.2 Opened items\nOpened items within 14 days.\n\n## Section 3 Warranty\nTwo years.\n"
)

ZH_MERGED = (
    "示例区奖励办法\n\n## 三、申请条件\n\n1. 注册地在本区；\n\n## 四、办理流程\n\n"
    "企业在公示后6个月内提出申请。\n\n## 五、施行日期\n\n本办法自2026年3月1日起施行。\n"
    "一、延长假期至2月2日。\n其他说明。"
)


@pytest.mark.parametrize(
    ("path", "text", "quote", "page", "expected"),
    [
        (("示例条例", "第三章 扶持措施", "第十二条 企业可以申请补贴"), LAW, "前款规定", None,
         "第三章 第十二条 第二款"),
        (("示例条例", "第三章 扶持措施", "第十二条 企业可以申请补贴"), LAW, "企业可以申请", None,
         "第三章 第十二条 第一款"),
        (("示例条例", "第三章 扶持措施", "第十二条", "（二）"), LAW, "服务业企业", 3,
         "第三章 第十二条 第（二）项 第二款 第3页"),  # the item belongs to the second paragraph
        (("示例条例", "第一章 总则"), LAW, "本条例适用于", None, "第一章 第一条"),
        (("示例条例", "第一章 总则"), LAW, None, None, "第一章"),  # no quote: no finer than the path
        (("Refund policy", "Section 4.2 Refunds"), POLICY, "Refunds take", None, "Section 4.2(b)"),
        (("Refund policy", "Section 4", "4.2 Refunds"), POLICY, "Items may", 7, "Section 4.2(a), p. 7"),
        (("Policy", "Section 2 Refunds"), MERGED, "Return unused", None, "Section 2.1"),
        (("Policy", "Section 2 Refunds"), MERGED, "Opened items within", None, "Section 2.2"),
        (("Policy", "Section 2 Refunds", "2.1 Standard items"), MERGED, "Opened items within", None,
         "Section 2.2"),  # a sibling clause replaces the one the path ends with
        (("Policy",), MERGED, "Two years", None, "Section 3"),
        (("示例区奖励办法",), ZH_MERGED, "企业在公示后", None, "四、办理流程"),
        (("示例区奖励办法", "三、申请条件"), ZH_MERGED, "本办法自", None, "五、施行日期"),
        (("示例区奖励办法", "三、申请条件", "1."), ZH_MERGED, "企业在公示后", None, "四、办理流程"),
        (("示例区奖励办法", "三、申请条件"), ZH_MERGED, "注册地在本区", None, "三、申请条件"),
        # A list item that says something is no section heading.
        (("示例区奖励办法",), ZH_MERGED, "其他说明", None, "五、施行日期"),
    ],
)  # fmt: skip
def test_locators(
    path: tuple[str, ...], text: str, quote: str | None, page: int | None, expected: str
) -> None:
    pos = text.index(quote) if quote else None
    assert clause_locator(path, text, pos, page) == expected
