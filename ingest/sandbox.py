"""Parse risky formats (PDF, DOCX) in a child process with memory and CPU limits.

A decompression bomb, a zip bomb or a parser stuck in a loop then costs one child process, not
the ingest (or the server): the file fails alone with reason ``resource_limit`` and the next file
goes to a fresh child. The child is a spawned interpreter (not a fork of a parent that has torch
and Chroma mapped), so its address-space limit measures the parser alone.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from index_store.errors import LoadError
from index_store.records import SourceDocument
from ingest.loaders import load_file

logger = logging.getLogger(__name__)

ISOLATED_SUFFIXES = frozenset({".pdf", ".docx"})


@dataclass(frozen=True)
class ParseLimits:
    memory_mb: int = 1024  # address space of the parsing child
    cpu_s: int = 60
    wall_s: float = 120.0


def _limit(memory_mb: int, cpu_s: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))


class IsolatedLoader:
    """``load(path)`` like ``load_file``, with PDF and DOCX parsed in a limited child."""

    def __init__(self, max_bytes: int, limits: ParseLimits | None = None) -> None:
        self.max_bytes = max_bytes
        self.limits = limits or ParseLimits()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_limit,
                initargs=(self.limits.memory_mb, self.limits.cpu_s),
            )
        return self._pool

    def _reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()  # a hung parser does not stop on its own
            pool.shutdown(wait=False, cancel_futures=True)

    def load(self, path: Path) -> SourceDocument:
        if path.suffix.lower() not in ISOLATED_SUFFIXES:
            return load_file(path, self.max_bytes)
        future = self._executor().submit(load_file, path, self.max_bytes)
        try:
            return future.result(timeout=self.limits.wall_s)
        except LoadError:
            raise
        except (BrokenProcessPool, MemoryError, FutureTimeout) as exc:
            self._reset()
            logger.warning("parse limit hit path=%s error=%s", path, type(exc).__name__)
            raise LoadError(
                "resource_limit",
                f"{path.name}: parsing it went over the limits ({self.limits.memory_mb} MB, "
                f"{self.limits.cpu_s} s CPU, {self.limits.wall_s:.0f} s): a malformed or "
                "hostile file (e.g. a decompression bomb)",
            ) from exc
        except Exception as exc:  # a parser bug on a malformed file: that file fails alone
            raise LoadError(
                "corrupt", f"{path.name}: the parser failed ({type(exc).__name__}: {exc})"
            ) from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
