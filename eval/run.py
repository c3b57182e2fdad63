"""Score an eval set: every question through the answer service, against its gold.

The index and the service are built by the composition root (``policyqa.evaluation``) and
passed in, so eval never builds pipelines of its own.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from chatbot.answering.llm import LLMClient
from chatbot.answering.questions import Turn
from chatbot.answering.service import AnswerService
from eval.datasets import EvalQuery, EvalSet
from eval.judge import judge
from eval.metrics import (
    answer_contains,
    answer_f1,
    evidence_in_text,
    first_hit_rank,
    hit_at,
    locate_span,
    mean,
    precision_recall,
    reciprocal_rank,
    spans_overlap,
    unique_in_order,
)
from index_store.language import detect_language
from index_store.policy import Scope
from index_store.records import Answer, Chunk, Citation, Hit
from index_store.store import IndexStore
from index_store.text import normalize_text

logger = logging.getLogger(__name__)

K_VALUES = (1, 3, 5, 10)


@dataclass(frozen=True)
class CitationResult:
    n: int
    doc_id: str
    locator: str
    gold: bool
    clause: str = ""  # as the citation names it: 第三章 第十二条 第二款, Section 4.2(b), page


@dataclass(frozen=True)
class QueryResult:
    qid: str
    question: str
    reference: str | None
    answer: str
    refused: bool
    should_refuse: bool
    gold_doc_ids: tuple[str, ...]
    retrieved_doc_ids: tuple[str, ...]
    doc_rank: int | None
    passage_rank: int | None
    passage_level: bool
    citations: tuple[CitationResult, ...]
    answer_contains: float | None
    answer_f1: float | None
    citation_precision: float | None
    citation_recall: float | None
    latency_ms: float
    passed: bool
    judge_faithful: bool | None = None
    judge_agrees: bool | None = None
    judge_parse_failed: bool | None = None  # None: not judged
    # LLM answers only: the share of cited sentences their passages support (the reranker's).
    faithfulness: float | None = None
    # The reranker's calibrated probability that the best passage answers (None without one):
    # what refusal thresholds are tuned on (tools.split_metrics --thresholds).
    best_answerable: float | None = None


@dataclass(frozen=True)
class EvalReport:
    dataset: str
    n: int
    config: dict[str, object]
    metrics: dict[str, float]
    per_question: list[QueryResult] = field(default_factory=list)


def restrict_corpus(eval_set: EvalSet, max_docs: int | None, seed: int) -> EvalSet:
    """Keep every gold document of the (sampled) queries plus random others up to
    ``max_docs``: a smaller but still distracting corpus for quick runs."""
    if max_docs is None or max_docs >= len(eval_set.documents):
        return eval_set
    gold = {g for q in eval_set.queries for g in q.gold_doc_ids}
    others = [d for d in eval_set.documents if d.doc_id not in gold]
    rng = random.Random(seed)
    extra = rng.sample(others, max(0, min(len(others), max_docs - len(gold))))
    keep = gold | {d.doc_id for d in extra}
    docs = tuple(d for d in eval_set.documents if d.doc_id in keep)
    tag = hashlib.sha256("\n".join(sorted(keep)).encode()).hexdigest()[:8]
    return replace(eval_set, documents=docs, fingerprint=f"{eval_set.fingerprint}-{tag}")


class _Gold:
    """Passage-level gold of one question: an answer span or evidence quotes, if the set has
    either; else only gold documents."""

    def __init__(self, q: EvalQuery, texts: dict[str, str]) -> None:
        self.q = q
        self.span: tuple[int, int] | None = None
        if q.answer and q.answer_start is not None and q.gold_doc_ids:
            self.span = locate_span(texts.get(q.gold_doc_ids[0], ""), q.answer, q.answer_start)
        self.passage_level = self.span is not None or bool(q.evidence)

    def passage_ok(self, chunk: Chunk) -> bool:
        if chunk.source not in self.q.gold_doc_ids:
            return False
        if self.span is not None:
            return chunk.source == self.q.gold_doc_ids[0] and spans_overlap(
                chunk.start, chunk.end, *self.span
            )
        return any(evidence_in_text(e, chunk.text) for e in self.q.evidence)

    def units_found(self, chunks: list[Chunk]) -> list[bool]:
        """For citation recall: each gold unit (the span, each quote, else each gold doc)."""
        if self.span is not None:
            return [any(self.passage_ok(c) for c in chunks)]
        if self.q.evidence:
            return [
                any(c.source in self.q.gold_doc_ids and evidence_in_text(e, c.text) for c in chunks)
                for e in self.q.evidence
            ]
        return [any(c.source == g for c in chunks) for g in self.q.gold_doc_ids]

    def citation_ok(self, chunk: Chunk) -> bool:
        return self.passage_ok(chunk) if self.passage_level else chunk.source in self.q.gold_doc_ids


def _doc_groups(hits: Sequence[Hit]) -> list[set[str]]:
    """The documents the ranking shows, in order: each passage's document with those of its
    copies, a passage whose documents were all shown before adding no rank."""
    groups: list[set[str]] = []
    seen: set[str] = set()
    for h in hits:
        group = {c.source for c in (h.chunk, *h.copies)}
        if not group <= seen:
            groups.append(group - seen)
            seen |= group
    return groups


def shown_passages(cited: Sequence[Citation], store: IndexStore) -> list[list[Chunk]]:
    """Each citation's passage as shown, then the reprints named beside it. A quote that reads
    on past its passage's end cites that passage reaching into the next one (``joined``): its
    own text and end, not the stored passage's."""
    ids = [[c.chunk_id, *(copy.chunk_id for copy in c.copies)] for c in cited]
    by_id = store.chunks([cid for group in ids for cid in group])
    return [
        [replace(by_id[c.chunk_id], text=c.text, end=c.end), *(by_id[cid] for cid in group[1:])]
        for c, group in zip(cited, ids, strict=True)
    ]


def chat_history(questions: Sequence[str], service: AnswerService, scope: Scope) -> list[Turn]:
    """The chat before a follow-up: each earlier question asked in turn, with the answer the
    user was shown."""
    history: list[Turn] = []
    for question in questions:
        shown = service.ask(question, history, scope)
        history += [Turn("user", question), Turn("assistant", shown.answer)]
    return history


def evaluate_question(
    q: EvalQuery,
    service: AnswerService,
    texts: dict[str, str],
    depth: int,
    judge_llm: LLMClient | None = None,
    chat: bool = False,
) -> QueryResult:
    """Retrieve (for ranking metrics) and answer (for answer, citation and refusal metrics).
    With ``chat``, a follow-up comes after the answers to its earlier questions (else after
    those questions alone, as the set gives them)."""
    # Eval sets ask about their documents as written, whatever their validity dates say.
    scope = Scope(sources=tuple(q.scope), in_force_only=False)
    history = (
        chat_history(q.history, service, scope) if chat else [Turn("user", h) for h in q.history]
    )
    started = time.perf_counter()
    answer = service.ask(q.question, history, scope)
    latency = (time.perf_counter() - started) * 1000
    cited = list(answer.citations) if not answer.refused else []
    if q.should_refuse:
        # Only a reranker gives a probability to record; without one this search is skipped.
        reranked = service.retriever.ranker is not None
        best = service.retrieve(q.question, history, scope, 1) if reranked else []
        return QueryResult(
            qid=q.qid, question=q.question, reference=None, answer=answer.answer,
            refused=answer.refused, should_refuse=True, gold_doc_ids=(), retrieved_doc_ids=(),
            doc_rank=None, passage_rank=None, passage_level=False, citations=(),
            answer_contains=None, answer_f1=None, citation_precision=None,
            citation_recall=None, latency_ms=latency, passed=answer.refused,
            best_answerable=best[0].answerable if best else None,
        )  # fmt: skip
    # Rank what the answer service retrieves (its follow-up heuristic, list positions).
    hits = service.retrieve(q.question, history, scope, depth)
    gold = _Gold(q, texts)
    # A passage shown once for several reprints counts for each: the user sees them all named.
    docs = unique_in_order([h.chunk.source for h in hits])
    doc_rank = first_hit_rank(
        [any(d in q.gold_doc_ids for d in group) for group in _doc_groups(hits)]
    )
    passage_rank = (
        first_hit_rank([any(map(gold.passage_ok, (h.chunk, *h.copies))) for h in hits])
        if gold.passage_level
        else None
    )
    shown = shown_passages(cited, service.retriever.store)
    oks = [any(gold.citation_ok(chunk) for chunk in group) for group in shown]
    precision, recall = precision_recall(oks, gold.units_found([c for g in shown for c in g]))
    refs = q.answers
    language = detect_language(q.question)
    contains = answer_contains(answer.answer, refs) if refs else None
    f1 = answer_f1(answer.answer, refs, language) if refs else None
    rank = passage_rank if gold.passage_level else doc_rank
    citations = tuple(
        CitationResult(c.n, c.source, c.locator, ok, c.clause)
        for c, ok in zip(cited, oks, strict=True)
    )
    return QueryResult(
        qid=q.qid, question=q.question, reference=refs[0] if refs else None,
        answer=answer.answer, refused=answer.refused, should_refuse=False,
        gold_doc_ids=q.gold_doc_ids, retrieved_doc_ids=tuple(docs), doc_rank=doc_rank,
        passage_rank=passage_rank, passage_level=gold.passage_level, citations=citations,
        answer_contains=contains, answer_f1=f1,
        citation_precision=precision if cited else None,
        citation_recall=recall if cited else None, latency_ms=latency,
        passed=not answer.refused and rank is not None and rank <= 5,
        faithfulness=answer.faithfulness,
        best_answerable=hits[0].answerable if hits else None,
        **_judged(judge_llm, answer, refs[0] if refs else None),
    )  # fmt: skip


def _second_stage(service: AnswerService) -> str:
    """What reorders the fused passages: off, features, or cross (features with the
    cross-encoder's logit)."""
    ranker = service.retriever.ranker
    return "off" if ranker is None else "cross" if ranker.cross else "features"


def _judged(llm: LLMClient | None, answer: Answer, reference: str | None) -> dict[str, Any]:
    if llm is None or answer.refused:
        return {}
    verdict = judge(llm, answer, reference)
    return {
        "judge_faithful": verdict.faithful,
        "judge_agrees": verdict.agrees,
        "judge_parse_failed": verdict.parse_failed,
    }


def summarize(results: list[QueryResult]) -> dict[str, float]:
    """The report's metrics; what a set cannot measure is left out."""
    answerable = [r for r in results if not r.should_refuse]
    negatives = [r for r in results if r.should_refuse]
    metrics: dict[str, float] = {}
    if answerable:
        for k in K_VALUES:
            metrics[f"doc_hit@{k}"] = mean([hit_at(r.doc_rank, k) for r in answerable])
        metrics["doc_mrr@10"] = mean([reciprocal_rank(r.doc_rank, 10) for r in answerable])
    spans = [r for r in answerable if r.passage_level]
    if spans:
        for k in K_VALUES:
            metrics[f"passage_hit@{k}"] = mean([hit_at(r.passage_rank, k) for r in spans])
        metrics["passage_mrr@10"] = mean([reciprocal_rank(r.passage_rank, 10) for r in spans])
    for name in (
        "answer_contains", "answer_f1", "citation_precision", "citation_recall", "faithfulness"
    ):  # fmt: skip
        values = [getattr(r, name) for r in answerable if getattr(r, name) is not None]
        if values:
            metrics[name] = mean(values)
    judged = [r for r in answerable if r.judge_parse_failed is not None]
    if judged:
        parsed = [r for r in judged if not r.judge_parse_failed]
        metrics["judge_parse_failure_rate"] = 1 - len(parsed) / len(judged)
        if parsed:
            metrics["judge_faithfulness"] = mean([1.0 if r.judge_faithful else 0.0 for r in parsed])
        graded = [r for r in parsed if r.judge_agrees is not None]
        if graded:
            metrics["judge_agreement"] = mean([1.0 if r.judge_agrees else 0.0 for r in graded])
    if negatives:
        metrics["refusal_accuracy"] = mean([1.0 if r.refused else 0.0 for r in negatives])
    if answerable:
        metrics["false_refusal_rate"] = mean([1.0 if r.refused else 0.0 for r in answerable])
    latencies = sorted(r.latency_ms for r in results)
    if latencies:
        metrics["latency_p50_ms"] = latencies[len(latencies) // 2]
        metrics["latency_p95_ms"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    return metrics


def run_eval(
    eval_set: EvalSet,
    store: IndexStore,
    service: AnswerService,
    depth: int = 10,
    on_progress: Callable[[int, int], None] | None = None,
    judge_llm: LLMClient | None = None,
    chat: bool = False,
) -> EvalReport:
    """Every question of the set through retrieval and the answer service (``chat``: see
    ``evaluate_question``)."""
    texts = {d.doc_id: normalize_text(d.text) for d in eval_set.documents}
    results: list[QueryResult] = []
    for i, q in enumerate(eval_set.queries, 1):
        results.append(evaluate_question(q, service, texts, depth, judge_llm, chat))
        if on_progress is not None:
            on_progress(i, len(eval_set.queries))
    config: dict[str, object] = {
        "embedder": str(service.retriever.embedder.model_name),
        "mode": service.mode,
        "corpus_docs": len(eval_set.documents),
        "split": eval_set.part,
        "chunks": store.registry.count_chunks(),
        "depth": depth,
        "retrieval": asdict(service.retriever.config),
        "refusal": {k: asdict(v) for k, v in service.config.refusal.items()},
        "reranker": _second_stage(service),
        "refusal_by": "model" if service.config.refuse_by_model else "rule",
        "min_answerable": service.config.min_answerable,
        "judge": judge_llm.config.model if judge_llm is not None else None,
        "follow_ups": "after answers" if chat else "after questions",
    }
    return EvalReport(eval_set.name, len(results), config, summarize(results), results)
