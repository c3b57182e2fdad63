"""The index's single-writer lock. Light on purpose (filelock only): a second writer is told
the index is busy before it imports Chroma or loads a model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from index_store.errors import IndexBusyError

WRITE_LOCK = "write.lock"
WRITE_LOCK_WAIT_S = 1.0


def _busy(index_dir: Path) -> IndexBusyError:
    return IndexBusyError(
        f"another process is writing to the index at {index_dir} (an ingest, a removal, a "
        "backup or a restore): wait for it to finish, then run this again"
    )


@contextmanager
def index_write_lock(index_dir: Path) -> Iterator[None]:
    """Held for a write; fails within ``WRITE_LOCK_WAIT_S`` when another process holds it."""
    lock = FileLock(str(index_dir / WRITE_LOCK), timeout=WRITE_LOCK_WAIT_S)
    try:
        lock.acquire()
    except Timeout:
        raise _busy(index_dir) from None
    try:
        yield
    finally:
        lock.release()


def ensure_no_writer(index_dir: Path) -> None:
    """Fail at once when another process is writing to the index (checked, not kept: the
    write itself takes the lock again, so a writer that starts later is still refused)."""
    if not (index_dir / WRITE_LOCK).exists():
        return
    with index_write_lock(index_dir):
        pass
