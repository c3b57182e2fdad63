"""Parse risky formats (PDF, office files, images) in a child process with memory and CPU
limits.

A decompression bomb, a zip bomb or a parser stuck in a loop then costs one child process, not
the ingest (or the server): the file fails alone with reason ``resource_limit`` and the next file
goes to a fresh child. The child is a spawned interpreter (not a fork of a parent that has torch
and Chroma mapped), so its address-space limit measures the parser alone.

Each task gets its own CPU budget (the child lives on between files). A paged file (PDF, image)
is parsed in steps: reading it is one task, then OCR is one task a page, each bounded on its
own, so a 100-page scan is as safe as a 1-page one and reports progress a page at a time.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from index_store.errors import LoadError
from index_store.records import SourceDocument
from ingest.loaders import DEFAULT_OCR_MAX_PAGES, PAGED_SUFFIXES, check_size, load_file
from ingest.paged import PageFn, load_paged

logger = logging.getLogger(__name__)

ISOLATED_SUFFIXES = frozenset({".docx", ".xlsx", ".doc"}) | PAGED_SUFFIXES
T = TypeVar("T")


@dataclass(frozen=True)
class ParseLimits:
    memory_mb: int = 3072  # address space of the parsing child (OCR reserves much of it)
    cpu_s: int = 60  # per task: a file, or one page of OCR
    wall_s: float = 120.0
    ocr_max_pages: int = DEFAULT_OCR_MAX_PAGES


def _limit(memory_mb: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))


def _bounded_call(cpu_s: int, fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` with ``cpu_s`` seconds of CPU from now (the limit counts the child's
    whole life, so it moves on with every task)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(usage.ru_utime + usage.ru_stime) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (spent + cpu_s, resource.RLIM_INFINITY))
    return fn(*args)


class IsolatedLoader:
    """``load(path)`` like ``load_file``, with risky formats parsed in a limited child."""

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
                initargs=(self.limits.memory_mb,),
            )
        return self._pool

    def _reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()  # a hung parser does not stop on its own
            pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, path: Path, fn: Callable[..., T], *args: object) -> T:
        future = self._executor().submit(_bounded_call, self.limits.cpu_s, fn, *args)
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

    def load(self, path: Path, on_page: PageFn | None = None) -> SourceDocument:
        suffix = path.suffix.lower()
        if suffix not in ISOLATED_SUFFIXES:
            return load_file(path, self.max_bytes)
        if suffix not in PAGED_SUFFIXES:
            return self._run(path, load_file, path, self.max_bytes)
        check_size(path, self.max_bytes)
        return load_paged(path, self.limits.ocr_max_pages, on_page, partial(self._run, path))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
