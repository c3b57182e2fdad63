"""Train PolicyQA's feature ranker and answerability model (``index_store.reranker.features``).

Reads only ``../shared/train-data`` (cmrc2018 + DRCD, Chinese) and writes
``index_store/reranker/weights/ranker.json``:

1. ``collect``: every article becomes one document of a real PolicyQA index (the project's own
   chunker, embedder, BM25 and fusion), and every question is searched in it as a user's would
   be. For each question the 20 best fused candidates get their features, and a label: the
   candidate is from the question's article and holds its whole answer. The same question with
   its article's candidates removed is the runtime negative: what retrieval offers when the
   collection does not hold the answer. The articles the cross-encoder never trained on
   (``train_reranker.py``'s held-out slice, same seed) also get its logits (``--no-cross``: not).
   ``candidates.jsonl`` keeps every question's candidates as the cross-encoder reads them, for
   ``train_reranker.py --pipeline``: the near-misses of the project's own retrieval.
2. ``fit``: pairwise logistic regression for the order (the answer's candidate should outscore
   each other one), then a logistic model of "the best candidate answers" on the best
   candidate's features, over questions with and without their article. Both are fit on 80 %
   of the articles and reported on the other 20 %, then refit on all.

Usage (about 10 minutes on 2 cores)::

    .venv/bin/python scripts/train_ranker.py collect
    .venv/bin/python scripts/train_ranker.py fit
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_reranker import SETS

logger = logging.getLogger("train_ranker")
CANDIDATES = 20
SEARCHED = 30


def load_articles(root: Path) -> tuple[list[tuple[str, str]], list[tuple[int, str, str]]]:
    """(title, text) of every Chinese article and (article, question, answer) of every
    answered question."""
    articles: list[tuple[str, str]] = []
    questions: list[tuple[int, str, str]] = []
    for rel in SETS["zh"]:
        for art in json.loads((root / rel).read_text(encoding="utf-8"))["data"]:
            title = str(art.get("title", "")).strip()
            paragraphs = [p["context"].strip() for p in art["paragraphs"]]
            for para in art["paragraphs"]:
                for qa in para["qas"]:
                    if qa.get("answers") and qa["answers"][0]["text"].strip():
                        questions.append((len(articles), qa["question"], qa["answers"][0]["text"]))
            articles.append((title, "\n\n".join(paragraphs)))
    return articles, questions


def heldout_articles(root: Path, share: float, seed: int) -> set[int]:
    """The articles ``train_reranker.py`` held out from the cross-encoder (same numbering,
    same seed, same draw)."""
    from train_reranker import load

    _, questions = load(root, ["zh"], 300)
    ids = sorted({q.article for q in questions})
    return set(random.Random(seed).sample(ids, max(1, int(len(ids) * share))))


def collect(args: argparse.Namespace) -> None:
    from index_store.embedding.factory import embedder_key
    from index_store.open_index import open_store
    from index_store.records import SourceDocument
    from index_store.reranker.features import cross_features, rank_features
    from index_store.reranker.model import CrossEncoderReranker, passage_text
    from index_store.settings import Settings
    from index_store.text import normalize_text
    from ingest.pipeline import ingest_documents
    from policyqa.compose import build_ingestor, build_retriever

    articles, questions = load_articles(args.train_data)
    held = heldout_articles(args.train_data, args.heldout, args.seed)
    logger.info("articles=%d questions=%d cross-heldout articles=%d",
                len(articles), len(questions), len(held))  # fmt: skip
    settings = Settings(reranker="off", chroma_url="", cache_dir=args.cache)
    store = open_store(settings, embedder_key(settings), create=True, index_dir=args.work / "index")
    started = time.monotonic()
    docs = (
        SourceDocument(source=f"a{i}", text=normalize_text(f"{t}\n\n{x}"), title=t, kind="train")
        for i, (t, x) in enumerate(articles)
    )
    report = ingest_documents(docs, build_ingestor(settings, store))
    logger.info("indexed in %.0f s (%d chunks embedded)", time.monotonic() - started,
                report.embedded_chunks)  # fmt: skip
    doc_of = {r.source: r.doc_id for r in store.documents()}
    retriever = build_retriever(settings, store)
    idf = store.keyword_index().idf
    cross = CrossEncoderReranker() if held and not args.no_cross else None
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    rng = random.Random(args.seed)
    order = list(range(len(questions)))
    rng.shuffle(order)
    if args.max_questions:
        order = order[: args.max_questions]
    for n, qi in enumerate(order, start=1):
        article, question, answer = questions[qi]
        gold = doc_of[f"a{article}"]
        found = retriever.search(question, top_k=SEARCHED)
        row: dict[str, Any] = {"article": article, "question": question}
        lists = {
            "with": found[:CANDIDATES],
            "without": [h for h in found if h.chunk.doc_id != gold][:CANDIDATES],
        }
        needle = "".join(normalize_text(answer).split())
        holds = {h.chunk.chunk_id: needle in "".join(h.chunk.text.split()) for h in found}
        records.append({
            "article": article, "question": question,
            "texts": [passage_text(h.chunk.heading_path, h.chunk.text) for h in lists["with"]],
            "holds": [holds[h.chunk.chunk_id] for h in lists["with"]],
            "gold": [h.chunk.doc_id == gold for h in lists["with"]],
        })  # fmt: skip
        logits: dict[str, float] = {}
        if cross is not None and article in held:
            todo = {h.chunk.chunk_id: h for part in lists.values() for h in part}
            texts = [passage_text(h.chunk.heading_path, h.chunk.text) for h in todo.values()]
            logits = dict(zip(todo, map(float, cross.logits(question, texts)), strict=True))
        for name, hits in lists.items():
            x = rank_features(question, hits, idf)
            if logits:
                x = np.hstack([x, cross_features([logits[h.chunk.chunk_id] for h in hits])])
            labels = [h.chunk.doc_id == gold and holds[h.chunk.chunk_id] for h in hits]
            row[name] = {"x": x, "y": np.array(labels, dtype=bool),
                         "dense": np.array([h.dense_score or 0.0 for h in hits])}  # fmt: skip
        rows.append(row)
        if n % 500 == 0:
            logger.info("questions %d/%d (%.0f s)", n, len(order), time.monotonic() - started)
    with (args.work / "candidates.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    with (args.work / "features.pkl").open("wb") as f:
        pickle.dump({"rows": rows, "cross_articles": sorted(held) if cross else []}, f)
    logger.info("wrote %d questions to %s", len(rows), args.work / "features.pkl")


def _logistic(x: np.ndarray, y: np.ndarray, l2: float, bias: bool) -> tuple[np.ndarray, float]:
    """Weights (and bias) minimising mean log-loss of ``y`` on ``x`` plus ``l2 * |w|^2``."""
    from scipy.optimize import minimize

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = (p[:-1], p[-1]) if bias else (p, 0.0)
        z = x @ w + b
        err = 1 / (1 + np.exp(-z)) - y
        value = float(np.mean(np.logaddexp(0, z) - y * z) + l2 * w @ w)
        grad = np.concatenate([x.T @ err / len(y) + 2 * l2 * w, [err.mean()] if bias else []])
        return value, grad

    start = np.zeros(x.shape[1] + int(bias))
    p = minimize(loss, start, jac=True, method="L-BFGS-B").x
    return (p[:-1], float(p[-1])) if bias else (p, 0.0)


def fit_ranker(rows: list[dict[str, Any]], width: int, names: tuple[str, ...]) -> Any:
    """Pairwise logistic regression: every (answer, other) candidate pair of a question, both
    ways round, on standardised features."""
    from index_store.reranker.features import LinearModel

    every = np.vstack([r["with"]["x"][:, :width] for r in rows])
    mean, scale = every.mean(0), every.std(0)
    scale[scale == 0] = 1.0
    diffs = []
    for r in rows:
        x, y = (r["with"]["x"][:, :width] - mean) / scale, r["with"]["y"]
        if y.any() and not y.all():
            diffs.append((x[y][:, None, :] - x[~y][None, :, :]).reshape(-1, width))
    d = np.vstack(diffs)
    w, _ = _logistic(np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))], 1e-3, False)
    return LinearModel(names, w, mean, scale)


def answer_rows(
    rows: list[dict[str, Any]], ranker: Any, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """The best candidate's answer features with and without the question's article, and
    whether it answers."""
    from index_store.reranker.features import ANSWER_FEATURES, RANK_FEATURES, answer_features

    xs, ys = [], []
    for r in rows:
        for name in ("with", "without"):
            x, y = r[name]["x"][:, :width], r[name]["y"]
            if not len(x):
                continue
            scores = ranker.score(x)
            best = int(np.argmax(scores))
            cross = float(x[best, len(RANK_FEATURES)]) if width > len(RANK_FEATURES) else 0.0
            hit_dense = r[name]["dense"][best]
            features = answer_features(best, scores, x, [_Dense(hit_dense)] * len(x), cross)
            xs.append(features)
            ys.append(bool(y[best]))
    assert len(ANSWER_FEATURES) == len(xs[0])
    return np.array(xs), np.array(ys, dtype=float)


class _Dense:
    """Stands in for a hit where only its dense score is read."""

    def __init__(self, score: float) -> None:
        self.dense_score = score


def fit_answer(x: np.ndarray, y: np.ndarray) -> Any:
    from index_store.reranker.features import ANSWER_FEATURES, LinearModel

    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    w, b = _logistic((x - mean) / scale, y, 1e-3, True)
    return LinearModel(ANSWER_FEATURES, w, mean, scale, b)


def ranking_report(rows: list[dict[str, Any]], ranker: Any | None, width: int) -> dict[str, float]:
    """hit@1, hit@5 and MRR@10 of the answer's candidate, in fused order (``ranker`` None) or
    in the ranker's."""
    hit1 = hit5 = mrr = 0.0
    for r in rows:
        x, y = r["with"]["x"][:, :width], r["with"]["y"]
        order = np.arange(len(y)) if ranker is None else np.argsort(-ranker.score(x), kind="stable")
        ranked = y[order]
        first = int(np.argmax(ranked)) if ranked.any() else 99
        hit1 += first < 1
        hit5 += first < 5
        mrr += 1 / (first + 1) if first < 10 else 0.0
    n = max(len(rows), 1)
    return {"questions": len(rows), "hit@1": hit1 / n, "hit@5": hit5 / n, "mrr@10": mrr / n}


def fit(args: argparse.Namespace) -> None:
    from index_store.reranker.features import CROSS_FEATURES, RANK_FEATURES

    with (args.work / "features.pkl").open("rb") as f:
        data = pickle.load(f)
    rows, crossed = data["rows"], set(data["cross_articles"])
    if not crossed:
        raise SystemExit("features.pkl has no cross-encoder logits: collect without --no-cross")
    articles = sorted({r["article"] for r in rows})
    test = set(random.Random(args.seed).sample(articles, len(articles) // 5))
    out: dict[str, Any] = {"meta": {"command": "python scripts/train_ranker.py collect && "
                                                "python scripts/train_ranker.py fit",
                                    "questions": len(rows)}}  # fmt: skip
    variants = {
        "features": (rows, RANK_FEATURES),
        "cross": ([r for r in rows if r["article"] in crossed], RANK_FEATURES + CROSS_FEATURES),
    }
    for variant, (chosen, names) in variants.items():
        width = len(names)
        train = [r for r in chosen if r["article"] not in test]
        held = [r for r in chosen if r["article"] in test]
        ranker = fit_ranker(train, width, names)
        answer = fit_answer(*answer_rows(train, ranker, width))
        ax, ay = answer_rows(held, ranker, width)
        p = 1 / (1 + np.exp(-answer.score(ax)))
        report = {
            "fused": ranking_report(held, None, width),
            "ranked": ranking_report(held, ranker, width),
            "answerable_accuracy": float(np.mean((p >= 0.5) == (ay == 1))),
            "answerable_brier": float(np.mean((p - ay) ** 2)),
        }
        logger.info("%s held-out: %s", variant, json.dumps(report))
        ranker = fit_ranker(chosen, width, names)
        answer = fit_answer(*answer_rows(chosen, ranker, width))
        out[variant] = {"rank": ranker.to_json(), "answer": answer.to_json(), "heldout": report,
                        "train_questions": len(chosen)}  # fmt: skip
        weights = dict(zip(names, np.round(ranker.weights, 3).tolist(), strict=True))
        logger.info("%s weights: %s", variant, weights)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    logger.info("wrote %s", args.out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stage", choices=["collect", "fit"])
    parser.add_argument("--train-data", type=Path, default=Path("../shared/train-data"))
    parser.add_argument("--work", type=Path, default=Path("var/train-ranker"))
    parser.add_argument("--cache", type=Path, default=Path("var/cache"))
    parser.add_argument(
        "--out", type=Path, default=Path("index_store/reranker/weights/ranker.json")
    )
    parser.add_argument("--heldout", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-questions", type=int, default=0, help="0: all")
    parser.add_argument(
        "--no-cross", action="store_true",
        help="collect without the cross-encoder's logits (for training a new one)",
    )  # fmt: skip
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.work.mkdir(parents=True, exist_ok=True)
    if args.stage == "collect":
        collect(args)
    else:
        fit(args)


if __name__ == "__main__":
    main()
