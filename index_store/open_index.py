"""Opening an index: the Chroma client (embedded under the index folder, or a Chroma server)
and the :class:`~index_store.store.IndexStore` over it, with its registry or, for a server-mode
reader, the records the writer keeps in Chroma."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from index_store.chunk_source import ChromaCatalog
from index_store.errors import ConfigError, IndexNotFoundError
from index_store.registry import Registry
from index_store.settings import Settings
from index_store.store import CHROMA_DIR, REGISTRY_FILE, IndexStore

logger = logging.getLogger(__name__)


def make_chroma_client(settings: Settings, index_dir: Path) -> Any:
    """Embedded Chroma under ``index_dir`` or a Chroma server, with telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if not settings.chroma_url:
        return chromadb.PersistentClient(path=str(index_dir / CHROMA_DIR), settings=chroma_settings)
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(
            f"POLICYQA_CHROMA_URL={settings.chroma_url!r} is not an http(s) URL "
            "(example: http://127.0.0.1:8000)"
        )
    return chromadb.HttpClient(
        host=url.hostname,
        port=url.port or (443 if url.scheme == "https" else 80),
        ssl=url.scheme == "https",
        settings=chroma_settings,
    )


def open_store(
    settings: Settings, embedder_key: str, *, create: bool, index_dir: Path | None = None
) -> IndexStore:
    """Open the index the settings point at.

    With ``create=False`` a missing index is an error that says how to make one. In server mode a
    reader (``create=False``) without a local registry reads records from the Chroma server.
    """
    directory = (index_dir or settings.index_dir).expanduser().resolve()
    has_registry = (directory / REGISTRY_FILE).exists()
    server_reader = bool(settings.chroma_url) and not create
    if not has_registry and not create and not server_reader:
        raise IndexNotFoundError(
            f"no index at {directory}: run `policyqa ingest PATH` first (or set POLICYQA_INDEX_DIR)"
        )
    if create:
        directory.mkdir(parents=True, exist_ok=True)
    client = make_chroma_client(settings, directory)
    if server_reader:
        collection = _server_collection(client, settings)
        catalog = ChromaCatalog(client, settings.collection, settings.refresh_seconds)
        registry = Registry(directory / REGISTRY_FILE) if has_registry else None
        return IndexStore(directory, embedder_key, collection, registry=registry, catalog=catalog)
    # embedding_function=None: we always pass vectors, and Chroma's default function would
    # try to download an ONNX model.
    collection = client.get_or_create_collection(
        name=settings.collection,
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine", "ef_search": settings.hnsw_ef_search}},
    )
    apply_search_breadth(collection, settings.hnsw_ef_search)
    clients = [client]

    def reopen() -> Any:
        # Chroma shares one in-memory copy per path within a process: closing the last client
        # drops it, and the next one reads the files the other process wrote.
        clients[0].close()
        clients[0] = make_chroma_client(settings, directory)
        return clients[0].get_collection(name=settings.collection, embedding_function=None)

    return IndexStore(
        directory,
        embedder_key,
        collection,
        registry=Registry(directory / REGISTRY_FILE),
        reopen=reopen,
    )


def apply_search_breadth(collection: Any, ef_search: int) -> None:
    """Give an existing collection the configured HNSW search breadth (creation sets it only
    for a new one). Unlike the graph's build settings, Chroma lets ``ef_search`` change
    afterwards; it is written only when it differs, and a process that has the graph loaded
    keeps the old value until it reopens the collection."""
    hnsw = (collection.configuration or {}).get("hnsw") or {}
    if hnsw.get("ef_search") != ef_search:
        collection.modify(configuration={"hnsw": {"ef_search": ef_search}})
        logger.info("hnsw ef_search %s -> %d", hnsw.get("ef_search"), ef_search)


def _server_collection(client: Any, settings: Settings) -> Any:
    try:
        return client.get_collection(name=settings.collection, embedding_function=None)
    except Exception as exc:  # chromadb raises NotFoundError or a bare ValueError by version
        if "does not exist" not in str(exc) and type(exc).__name__ != "NotFoundError":
            raise
        raise IndexNotFoundError(
            f"no collection {settings.collection!r} on the Chroma server {settings.chroma_url}: "
            "run `policyqa ingest PATH` with the same POLICYQA_CHROMA_URL first"
        ) from exc
