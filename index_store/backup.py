"""Backups of an embedded index, taken while the app serves, and restores.

A backup holds the write lock (no ingest can change the index meanwhile; readers go on), copies
the registry through SQLite's online backup API and the Chroma folder file by file, and writes a
manifest last: a folder without ``manifest.json`` is not a finished backup. A restore checks the
manifest, copies into a temporary folder beside the index and swaps it in with a rename, keeping
the replaced index beside it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from index_store.errors import ConfigError
from index_store.locking import index_write_lock
from index_store.registry import utc_now
from index_store.store import CHROMA_DIR, REGISTRY_FILE, IndexStore

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    created_at: str
    documents: int
    chunks: int
    vectors: int
    embedder: str
    source: str


def backup_index(store: IndexStore, destination: Path) -> Manifest:
    """Copy a consistent snapshot of ``store`` into ``destination`` (must not exist yet)."""
    if destination.exists():
        raise ConfigError(f"{destination} already exists: give a new folder for the backup")
    partial = destination.with_name(destination.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with store.write_lock():
        source = sqlite3.connect(store.index_dir / REGISTRY_FILE)
        target = sqlite3.connect(partial / REGISTRY_FILE)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        shutil.copytree(store.index_dir / CHROMA_DIR, partial / CHROMA_DIR)
        manifest = Manifest(
            created_at=utc_now(),
            documents=len(store.registry.documents()),
            chunks=store.registry.count_chunks(),
            vectors=store.count_vectors(),
            embedder=store.embedder_key,
            source=str(store.index_dir),
        )
    (partial / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
    partial.rename(destination)
    return manifest


def read_manifest(backup: Path) -> Manifest:
    try:
        data = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"{backup} is not a finished PolicyQA backup (no readable {MANIFEST})"
        ) from exc


def restore_index(backup: Path, index_dir: Path) -> tuple[Manifest, Path | None]:
    """Make ``index_dir`` a copy of ``backup``. Returns the manifest and where the replaced
    index was moved (None if there was none). Stop the app first: it holds the old files."""
    manifest = read_manifest(backup)
    index_dir = index_dir.expanduser().resolve()
    staging = index_dir.with_name(index_dir.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(backup, staging)
    (staging / MANIFEST).unlink()
    replaced: Path | None = None
    if index_dir.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        with index_write_lock(index_dir):  # no writer may be busy with the index we replace
            replaced = index_dir.with_name(f"{index_dir.name}.replaced-{stamp}")
            index_dir.rename(replaced)
    staging.rename(index_dir)
    return manifest, replaced
