"""Shared fixtures: temp settings, a cheap embedder that tells texts apart, the real model."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import PrivateAttr

from index_store.keyword import tokenize
from index_store.open_index import open_store
from index_store.settings import Settings
from index_store.store import IndexStore
from ingest.chunking import ChunkingConfig
from ingest.pipeline import Ingestor

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval-data"
DIM = 256


class HashingEmbedding(BaseEmbedding):
    """Bag of keyword tokens hashed into 256 dimensions: similar texts get similar vectors,
    different texts different ones. Counts every text it embeds."""

    _calls: list[str] = PrivateAttr(default_factory=list)

    def __init__(self) -> None:
        super().__init__(model_name="test-hashing", embed_batch_size=16)

    @property
    def embedded(self) -> list[str]:
        return self._calls

    def _vector(self, text: str) -> Embedding:
        vec = np.zeros(DIM)
        for token in tokenize(text):
            h = int(hashlib.md5(token.encode()).hexdigest()[:8], 16)
            vec[h % DIM] += 1.0
        norm = np.linalg.norm(vec)
        if norm == 0:
            vec[0] = 1.0
            norm = 1.0
        return list(vec / norm)

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        self._calls.append(text)
        return self._vector(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return [self._get_text_embedding(t) for t in texts]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that leaves the machine (loopback stays allowed)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(
            ("127.", "::1", "localhost")
        ):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the machine's own PolicyQA or OpenAI settings."""
    import os

    for name in list(os.environ):
        if name.startswith("POLICYQA_") or name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        index_dir=tmp_path / "index",
        cache_dir=tmp_path / "cache",
    )


@pytest.fixture
def hashing_embedder() -> HashingEmbedding:
    return HashingEmbedding()


@pytest.fixture
def store(settings: Settings) -> Iterator[IndexStore]:
    s = open_store(settings, "test-hashing", create=True)
    yield s
    s.close()


@pytest.fixture
def ingestor(store: IndexStore, hashing_embedder: HashingEmbedding) -> Ingestor:
    return Ingestor(
        store=store,
        embedder=hashing_embedder,
        chunking=ChunkingConfig(size=300, overlap=50, min_chars=60),
        max_file_bytes=5 * 1024 * 1024,
    )


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IndexStore, Settings]]:
    """The demo corpus indexed once per session with the real default embedder."""
    from index_store.embedding.factory import embedder_key
    from ingest.pipeline import ingest_paths
    from policyqa.compose import build_ingestor
    from tests.files import DEMO_DIR, DEMO_INTERNAL_DIR

    root = tmp_path_factory.mktemp("demo")
    demo_settings = Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=root / "index", cache_dir=root / "cache"
    )
    store = open_store(demo_settings, embedder_key(demo_settings), create=True)
    ingestor = build_ingestor(demo_settings, store)  # as the app builds it
    report = ingest_paths([DEMO_DIR], ingestor)
    assert not report.failed and report.embedded_chunks > 10
    internal = ingest_paths([DEMO_INTERNAL_DIR], replace(ingestor, labels=("internal",)))
    assert not internal.failed
    yield store, demo_settings
    store.close()


def needs_shared() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not SHARED.exists(), reason=f"{SHARED} is not present")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` on 127.0.0.1 (the CLI installed with chromadb), telemetry off."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    chroma = Path(sys.executable).with_name("chroma")
    port = free_port()
    log = tmp_path_factory.mktemp("chroma-log") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(chroma), "run", "--path", str(tmp_path_factory.mktemp("chroma-data")),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"chroma run did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        type=int,
        default=0,
        help="kill-test rounds to run (default: the few CI runs)",
    )
