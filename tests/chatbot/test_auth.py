"""UI logins: user tables and per-name throttling of failures."""

from __future__ import annotations

import pytest

from chatbot.auth import ThrottledLogin, parse_users
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
