from __future__ import annotations

import pytest

from index_store.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("小微企业如何申请稳岗返还？", "zh"),
        ("How do I apply for a refund?", "en"),
        # Chinese characters count against Latin words: a few of one in a text of the other
        # do not change its language.
        ("稳岗返还 (job retention refund) 的申请条件是什么？", "zh"),
        ("What does the policy say about 密码?", "en"),
        ("", "en"),
        # Markup is not the user's language: a Chinese question in HTML or with a link.
        ('<p class="question"><strong>稳岗返还</strong>的比例？</p>', "zh"),
        ("稳岗返还比例？见 https://www.example.gov.cn/policy/notice-2026-3.html", "zh"),
        ("[稳岗返还](https://example.com/a/b/c) 比例？ `policy_id=ref-001`", "zh"),
    ],
)
def test_language_of_a_text(text: str, language: str) -> None:
    assert detect_language(text) == language
