"""UI logins: user tables and per-name throttling of failures."""

from __future__ import annotations

import pytest

from chatbot.web.api_guard import key_names
from chatbot.web.auth import Access, ThrottledLogin, parse_access, parse_users
from chatbot.web.doc_view import DocLinks, render_document
from index_store.errors import ConfigError


def test_user_tables_parse_and_reject_malformed_entries() -> None:
    assert parse_users("alice:pw1, bob:p:w2") == {"alice": "pw1", "bob": "p:w2"}
    assert parse_users("") == {}
    with pytest.raises(ConfigError, match="NAME:PASSWORD"):
        parse_users("alice")


def test_failures_lock_a_name_for_a_while() -> None:
    now = [0.0]
    login = ThrottledLogin({"alice": "right"}, max_failures=3, window_s=60, lockout_s=300,
                           clock=lambda: now[0])  # fmt: skip
    assert login("alice", "right")
    assert [login("alice", "wrong") for _ in range(3)] == [False] * 3
    assert not login("alice", "right")  # locked: the right password does not help
    assert not login("mallory", "right")  # other names are unaffected, and unknown anyway
    now[0] = 299.0
    assert not login("alice", "right")
    now[0] = 301.0  # 300 s after the third failure
    assert login("alice", "right")


def test_failures_spread_over_time_do_not_lock() -> None:
    now = [0.0]
    login = ThrottledLogin({"alice": "right"}, max_failures=3, window_s=60, clock=lambda: now[0])
    for step in range(6):
        now[0] = step * 31.0  # never three failures within 60 s
        assert not login("alice", "wrong")
    assert login("alice", "right")


def test_stale_failures_of_many_names_are_forgotten_but_live_locks_kept() -> None:
    now = [0.0]
    login = ThrottledLogin({"alice": "right"}, max_failures=3, window_s=60, lockout_s=300,
                           clock=lambda: now[0])  # fmt: skip
    for _ in range(3):
        login("alice", "wrong")  # alice is locked until t=300
    for n in range(10_001):
        login(f"made-up-{n}", "x")
    now[0] = 100.0  # every made-up failure is outside the window now
    assert not login("someone", "x")
    assert len(login._failures) == 1  # only the failure just made
    assert not login("alice", "right")  # the live lock survived the clean-up


def test_access_grants_parse_and_decide_labels() -> None:
    grants = parse_access(" alice=internal|hr ; ci-bot=internal; alice=legal ")
    assert grants == {"alice": {"internal", "hr", "legal"}, "ci-bot": {"internal"}}
    access = Access(grants, admins=frozenset({"root"}))
    assert access.labels_for("alice") == {"public", "internal", "hr", "legal"}
    assert access.labels_for("stranger") == access.labels_for(None) == {"public"}
    assert access.labels_for("root") is None  # admins read everything
    for bad in ("alice", "=internal", "alice=", "alice=|"):
        with pytest.raises(ConfigError, match="POLICYQA_ACCESS_LABELS"):
            parse_access(bad)
    assert parse_access("") == {}


def test_api_keys_may_be_named() -> None:
    assert key_names(("ci-bot:k1", "k2", ":k3")) == [
        ("ci-bot", "k1"),
        ("key-2", "k2"),
        ("key-3", ":k3"),
    ]


def test_document_links_are_signed_per_document_and_expire() -> None:
    now = [1000.0]
    links = DocLinks(b"secret", ttl_s=60, clock=lambda: now[0])
    url = links.url("doc1", 5, 9)
    query = dict(p.split("=") for p in url.split("?")[1].split("#")[0].split("&"))
    assert links.valid("doc1", int(query["exp"]), query["sig"])
    assert not links.valid("doc2", int(query["exp"]), query["sig"])
    assert not links.valid("doc1", int(query["exp"]) + 1, query["sig"])
    assert not DocLinks(b"other").valid("doc1", int(query["exp"]), query["sig"])
    now[0] += 61
    assert not links.valid("doc1", int(query["exp"]), query["sig"])


def test_the_document_view_escapes_and_marks_the_span() -> None:
    page = render_document("T<1>", "《T》", "ab<script>x</script>cd", 2, 20, "en")
    assert '<mark id="quote">&lt;script&gt;x&lt;/script&gt;</mark>cd' in page
    assert "<script>" not in page
    clamped = render_document("T", "", "abc", 5, 99, "en")
    assert '<mark id="quote"></mark>' in clamped


def test_the_document_view_has_a_header_with_a_way_back() -> None:
    page = render_document("示例办法", "", "第一条", 0, 3, "zh")
    assert '<header><a href="/" id="back">← 返回问答</a>' in page
    assert 'id="back">← Back to the chat</a>' in render_document("T", "", "x", 0, 1, "en")


def test_the_in_force_default_comes_from_the_settings_unless_the_asker_says() -> None:
    from unittest.mock import sentinel

    from chatbot.web.api import AskRequest
    from chatbot.web.context import ChatContext

    archive = ChatContext(service=sentinel.service, in_force_default=False)  # type: ignore[arg-type]
    current = ChatContext(service=sentinel.service)  # type: ignore[arg-type]
    assert not AskRequest(question="q").scope(archive, None).in_force_only
    assert AskRequest(question="q").scope(current, None).in_force_only
    assert AskRequest(question="q", include_expired=False).scope(archive, None).in_force_only
    assert not AskRequest(question="q", include_expired=True).scope(current, None).in_force_only
    assert archive.scope_for("x").labels == {"public"}
