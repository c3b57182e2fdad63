from __future__ import annotations

import math
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index_store.keyword import BM25, KeywordIndex, tokenize


def test_tokens_mix_jieba_words_bigrams_english_and_numbers() -> None:
    tokens = tokenize("小微企业社保补贴 Refund within 30 days, 5.5%")
    assert "小微" in tokens or "小微企业" in tokens
    assert "_社保" in tokens and "_保补" in tokens  # character bigrams keep their own namespace
    assert "refund" in tokens and "day" in tokens
    assert tokenize("non-refundable e-books policies") == ["non", "refund", "ebook", "polici"]
    # One letter and a hyphen is written both ways: "e-mail" and "email" are one word.
    assert tokenize("E-mails 电子邮件e-mail") == tokenize("emails") + tokenize("电子邮件email")
    assert len(set(tokenize("We collected it; the collection; she collects"))) == 1  # "collect"
    assert "30" in tokens and "5.5%" in tokens
    assert "的" not in tokenize("企业的补贴")  # stopword dropped
    assert "什么" not in tokenize("补贴标准是什么")


def test_english_stems_are_the_same_from_many_threads() -> None:
    """Each thread stems with its own PyStemmer object (one object is not thread-safe)."""
    text = " ".join(["collected collecting collects shared sharing shares retains retention"] * 50)
    expected = tokenize(text)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(tokenize, [text] * 32))
    assert all(r == expected for r in results)
    assert set(expected) == {"collect", "share", "retain", "retent"}


def bm25_oracle(
    docs: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75
) -> list[float]:
    """Textbook BM25, one document at a time."""
    n = len(docs)
    avg = sum(len(d) for d in docs) / n
    scores = []
    for d in docs:
        s = 0.0
        for term in set(query):
            df = sum(1 for x in docs if term in x)
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = d.count(term)
            s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avg))
        scores.append(s)
    return scores


def test_sparse_bm25_matches_the_textbook_formula() -> None:
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(40)]
    docs = [[rng.choice(vocab) for _ in range(rng.randint(1, 30))] for _ in range(60)]
    bm25 = BM25(docs)
    for _ in range(20):
        query = [rng.choice(vocab) for _ in range(rng.randint(1, 5))] + ["unseen"]
        assert np.allclose(bm25.scores(query), bm25_oracle(docs, query))


def test_keyword_index_ranks_and_filters() -> None:
    index = KeywordIndex(
        ["a", "b", "c"],
        [
            tokenize("稳岗返还 失业保险费 返还60%"),
            tokenize("房租减免 国有经营用房"),
            tokenize("稳岗 培训补贴"),
        ],
        fields={"source": ["x.txt", "y.txt", "z.txt"]},
    )
    hits = index.search("稳岗返还比例", 3)
    assert hits[0].chunk_id == "a"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(h.score > 0 for h in hits)
    filtered = index.search("稳岗返还比例", 3, {"source": ["z.txt"]})
    assert [h.chunk_id for h in filtered] == ["c"]
    with pytest.raises(KeyError):
        index.search("稳岗", 3, {"region": ["x"]})


def test_empty_index_and_empty_question() -> None:
    assert KeywordIndex([], []).search("anything", 5) == []
    index = KeywordIndex(["a"], [tokenize("refund policy")])
    assert index.search("的 吗", 5) == []
