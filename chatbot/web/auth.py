"""Logins for the UI: user tables from settings, checked in constant time, with failed attempts
throttled per user name (a locked name fails even with the right password until it unlocks)."""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from index_store.errors import ConfigError
from index_store.policy import PUBLIC_LABEL

logger = logging.getLogger(__name__)

_MAX_TRACKED = 10_000  # names with recent failures or locks before stale ones are dropped


def parse_users(spec: str) -> dict[str, str]:
    """``"alice:pw1, bob:pw2"`` -> ``{"alice": "pw1", "bob": "pw2"}``."""
    users: dict[str, str] = {}
    for item in spec.split(","):
        name, sep, password = item.strip().partition(":")
        if item.strip() and (not sep or not name or not password):
            raise ConfigError(
                f"user entry {name!r} must be written NAME:PASSWORD "
                "(POLICYQA_ADMIN_USERS / POLICYQA_CHAT_USERS)"
            )
        if sep:
            users[name] = password
    return users


def parse_access(spec: str) -> dict[str, frozenset[str]]:
    """``"alice=internal|hr; ci-bot=internal"`` -> ``{"alice": {"internal", "hr"}, ...}``."""
    access: dict[str, frozenset[str]] = {}
    for item in spec.split(";"):
        name, sep, labels = item.strip().partition("=")
        if not item.strip():
            continue
        granted = frozenset(x.strip() for x in labels.split("|") if x.strip())
        if not sep or not name.strip() or not granted:
            raise ConfigError(
                f"access entry {item.strip()!r} must be written NAME=LABEL|LABEL "
                "(POLICYQA_ACCESS_LABELS)"
            )
        access[name.strip()] = access.get(name.strip(), frozenset()) | granted
    return access


@dataclass(frozen=True)
class Access:
    """Which document labels a principal (UI user name or API key name) may read."""

    grants: Mapping[str, frozenset[str]] = field(default_factory=dict)
    admins: frozenset[str] = frozenset()

    def labels_for(self, principal: str | None) -> frozenset[str] | None:
        """None (everything) for admins; otherwise "public" plus what was granted."""
        if principal is not None and principal in self.admins:
            return None
        return frozenset({PUBLIC_LABEL}) | self.grants.get(principal or "", frozenset())


class ThrottledLogin:
    """Gradio's ``auth`` callable: True for a known user and password, unless that user name
    has failed ``max_failures`` times within ``window_s`` (then locked for ``lockout_s``)."""

    def __init__(
        self,
        users: dict[str, str],
        max_failures: int = 5,
        window_s: float = 300.0,
        lockout_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = users
        self._max = max_failures
        self._window = window_s
        self._lockout = lockout_s
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, username: str, password: str) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._failures) + len(self._locked_until) > _MAX_TRACKED:
                self._forget_stale(now)
            if self._locked_until.get(username, 0.0) > now:
                logger.warning("login refused: user locked")
                return False
            expected = self._users.get(username)
            ok = expected is not None and hmac.compare_digest(password.encode(), expected.encode())
            if ok:
                self._failures.pop(username, None)
                return True
            recent = [t for t in self._failures.get(username, []) if now - t < self._window]
            recent.append(now)
            self._failures[username] = recent
            if len(recent) >= self._max:
                self._locked_until[username] = now + self._lockout
                self._failures.pop(username, None)
                logger.warning("login locked after %d failures", len(recent))
            return False

    def _forget_stale(self, now: float) -> None:
        """Drop failures outside the window and expired locks: names tried once (a flood of
        made-up user names) do not pile up, and no live count or lock is lost."""
        self._failures = {
            name: times
            for name, times in self._failures.items()
            if any(now - t < self._window for t in times)
        }
        self._locked_until = {n: t for n, t in self._locked_until.items() if t > now}
