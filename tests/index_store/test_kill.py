"""SIGKILL `policyqa ingest` at random moments: after each kill every document is all or
nothing, Chroma and the registry agree once a writer has started, and re-running converges.

CI runs a few rounds; `pytest tests/index_store/test_kill.py --soak 50` runs many.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index_store.open_index import open_store
from index_store.settings import Settings

# The real model, real processes or real files: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow

CI_ROUNDS = 3


def corpus(folder: Path, version: int, n: int = 24) -> None:
    folder.mkdir(exist_ok=True)
    for i in range(n):
        clauses = "\n".join(
            f"第{j + 1}条 第{i}号文件第{j + 1}条（第{version}版）：企业申请补贴须在{j + 1}月底前提交材料，"
            f"补贴标准为每户{(i + j) % 9 + 1}万元，逾期不予受理。"
            for j in range(8)
        )
        (folder / f"doc{i:02d}.txt").write_text(clauses + "\n", encoding="utf-8")


def check_consistent(settings: Settings) -> tuple[int, int]:
    """Open as the next writer does (which reconciles), then check the invariants."""
    store = open_store(settings, "st:bundled:all-MiniLM-L6-v2||", create=True)
    try:
        with store.write_batch():  # a writer starting after a crash reconciles first
            pass
        registry = store.registry
        ids = registry.all_chunk_ids()
        stored = set(store._collection.get(include=[])["ids"])
        assert stored == ids, "Chroma and the registry disagree after reconcile"
        versions = set()
        for record in registry.documents():
            chunk_ids = registry.chunk_ids_of(record.doc_id)
            assert len(chunk_ids) == record.n_chunks, f"partial document {record.source}"
            texts = [c.text for c in registry.chunks(chunk_ids).values()]
            versions |= {t.split("（第")[1].split("版")[0] for t in texts}
        assert len(versions) <= 1, f"one run's documents mixed with another's: {versions}"
        return len(registry.documents()), len(ids)
    finally:
        store.close()


def test_killed_ingests_leave_whole_documents_and_rerun_converges(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rounds = int(request.config.getoption("--soak")) or CI_ROUNDS
    docs = tmp_path / "docs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")} | {
        "POLICYQA_INDEX_DIR": str(tmp_path / "index"),
        "POLICYQA_CACHE_DIR": str(tmp_path / "cache"),
        "POLICYQA_EMBEDDER": "sentence-transformers",  # bundled MiniLM: fast rounds
    }
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=tmp_path / "index", cache_dir=tmp_path / "cache"
    )
    exe = str(Path(sys.executable).with_name("policyqa"))
    rng = random.Random(int(os.environ.get("POLICYQA_KILL_SEED", "7")))

    corpus(docs, 0)
    started = time.monotonic()
    subprocess.run([exe, "ingest", str(docs)], env=env, check=True, capture_output=True)
    full_run = time.monotonic() - started
    assert check_consistent(settings)[0] == 24

    killed = 0
    for round_ in range(1, rounds + 1):
        corpus(docs, round_)  # every document changes: a whole run replaces the index
        process = subprocess.Popen(
            [exe, "ingest", str(docs)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.2, full_run * 1.1))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        n_docs, _ = check_consistent(settings)
        assert n_docs == 24  # the old run's documents or the new run's, all of them

    assert killed >= 1, "no round was killed mid-run: the test proved nothing"
    done = subprocess.run([exe, "ingest", str(docs)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    n_docs, n_chunks = check_consistent(settings)
    assert n_docs == 24 and n_chunks > 24
    again = subprocess.run([exe, "ingest", str(docs)], env=env, capture_output=True, text=True)
    assert "unchanged=24" in again.stdout and "embedded_chunks=0" in again.stdout, again.stdout
