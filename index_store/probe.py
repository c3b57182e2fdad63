"""Start-up health check of an embedded index, run in a child process.

Chroma replays its write-ahead log on open and has crashed the interpreter on corrupt segments,
so the server never opens an index it has not seen open cleanly elsewhere first: the child opens
the collection, reads one vector back, queries with it and checks that every chunk the registry
names has a vector. ``python -m index_store.probe INDEX_DIR COLLECTION`` prints its findings.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index_store.store import CHROMA_DIR, REGISTRY_FILE


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str = ""
    vectors: int = 0
    chunks: int = 0


def probe_index(index_dir: Path, collection: str, timeout_s: float = 120) -> ProbeResult:
    """Open the index in a child process; a crash, a hang or a missing vector is a failure."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "index_store.probe", str(index_dir), collection],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"opening the index took over {timeout_s:.0f} s")
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return ProbeResult(False, f"opening the index crashed the process ({name})")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return ProbeResult(False, f"the index cannot be opened: {tail[:300]}")
    found = json.loads(lines[-1])
    if found["missing"]:
        return ProbeResult(
            False,
            f"{found['missing']} of the registry's {found['chunks']} chunks have no vector",
            found["vectors"],
            found["chunks"],
        )
    return ProbeResult(True, "", found["vectors"], found["chunks"])


def _check(index_dir: Path, collection_name: str) -> dict[str, int]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    with sqlite3.connect(f"file:{index_dir / REGISTRY_FILE}?mode=ro", uri=True) as registry:
        ids = [str(r[0]) for r in registry.execute("SELECT chunk_id FROM chunks")]
    client = chromadb.PersistentClient(
        path=str(index_dir / CHROMA_DIR), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection: Any = client.get_collection(collection_name)
    vectors = int(collection.count())
    if vectors:  # read a vector back and search with it: touches the HNSW segment
        sample = collection.get(limit=1, include=["embeddings"])
        collection.query(query_embeddings=[list(sample["embeddings"][0])], n_results=1)
    present = 0
    for start in range(0, len(ids), 5000):
        present += len(collection.get(ids=ids[start : start + 5000], include=[])["ids"])
    return {"vectors": vectors, "chunks": len(ids), "missing": len(ids) - present}


def main() -> None:
    result = _check(Path(sys.argv[1]), sys.argv[2])
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
