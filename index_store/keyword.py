"""Keyword side of hybrid retrieval: Chinese-aware tokens and a sparse-matrix BM25.

Chinese runs yield jieba words *and* character bigrams (bigrams prefixed with ``_`` so they keep
their own document frequencies): jieba alone misses terms it segments differently in question and
document, bigrams alone lose word boundaries. English words are lower-cased and stemmed (Snowball
English, so "collected", "collects" and "collection" meet), numbers kept whole.

The index is derived data: it is rebuilt from the tokens stored with each chunk in the registry,
so it can never drift from the registry's view of the index.
"""

from __future__ import annotations

import logging
import re
import threading
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import Stemmer
from scipy import sparse

logger = logging.getLogger(__name__)

_TOKEN_RE = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"  # a run of CJK ideographs
    # An English word; a hyphen after one letter joins ("e-mail" -> email, as it is also
    # written), other hyphens and apostrophes split ("third-party" -> third, party).
    r"|(?:(?<![A-Za-z])[A-Za-z]-(?=[A-Za-z]{2}))?[A-Za-z]+"
    r"|\d+(?:[.,]\d+)*%?"  # a number, amount or percentage
)
_CJK_START = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# fmt: off
ZH_STOPWORDS = frozenset([
    "的", "了", "是", "在", "和", "与", "及", "或", "等", "对", "为",
    "有", "吗", "呢", "啊", "吧", "什么", "哪些", "哪个", "如何", "怎么",
    "怎样", "是否", "能否", "可否", "多少", "请问", "一下", "这个", "那个",
    "我们", "你们", "我", "你", "他", "她", "它", "其", "之", "被",
    "把", "将", "就", "都", "也", "还", "而", "并", "要", "会",
    "可以", "能", "该", "此", "这", "那", "以", "于", "中", "上",
    "下", "那么", "多久", "多长", "哪里", "哪儿", "几", "请", "谁",
    "呀",
])
# fmt: on
# fmt: off
EN_STOPWORDS = frozenset([
    "a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "but", "is", "are", "was",
    "were", "be", "been", "being", "do", "does", "did", "what", "which", "who", "whom",
    "whose", "when", "where", "why", "how", "can", "could", "should", "would", "will",
    "shall", "may", "might", "must", "i", "you", "he", "she", "it", "we", "they", "me", "my",
    "your", "our", "their", "its", "this", "that", "these", "those", "there", "with", "as",
    "by", "at", "from", "about", "into", "than", "then", "so", "if", "not", "no", "any",
    "all", "some", "such",
])
# fmt: on

# Bumped whenever tokenize() changes, so stored tokens are rebuilt at the next ingest.
TOKENIZER_VERSION = "4"

_stemmers = threading.local()
_jieba_lock = threading.Lock()
_jieba_tokenizer: Any = None


def jieba_words(text: str) -> list[str]:
    """jieba's words of ``text`` (all of it, punctuation included), in order."""
    global _jieba_tokenizer
    with _jieba_lock:
        if _jieba_tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _jieba_tokenizer = tokenizer
    return list(_jieba_tokenizer.cut(text, HMM=True))


def tokenize(text: str) -> list[str]:
    """Keyword tokens of ``text`` (used for documents and questions alike)."""
    tokens: list[str] = []
    for match in _TOKEN_RE.finditer(text):
        run = match.group()
        if _CJK_START.match(run):
            tokens.extend(_chinese_tokens(run))
        else:
            word = run.lower().replace("-", "")
            if word not in EN_STOPWORDS:
                tokens.append(_stem(word))
    return tokens


def _chinese_tokens(run: str) -> list[str]:
    """jieba words minus stopwords, plus character bigrams inside each stretch of non-stopword
    words (so "那审核要多久" yields 审核 and _审核, not _核要 or _要多)."""
    words = jieba_words(run)
    tokens = [w for w in words if w not in ZH_STOPWORDS]
    stretch = ""
    for word in [*words, ""]:
        if word and word not in ZH_STOPWORDS:
            stretch += word
            continue
        tokens.extend("_" + stretch[i : i + 2] for i in range(len(stretch) - 1))
        stretch = ""
    return tokens


def _stem(word: str) -> str:
    """The word's Snowball (Porter2) English stem: "collected", "collection" -> "collect".
    A PyStemmer object is not thread-safe, so each thread has its own."""
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = Stemmer.Stemmer("english")
    return str(stemmer.stemWord(word))


class BM25:
    """Okapi BM25 with precomputed per-(document, term) weights in a sparse matrix.

    Scoring a question is one column slice and a sum, so it stays fast at 100k chunks.
    """

    def __init__(self, documents: Iterable[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        # Documents are consumed as a stream into compact arrays: at 100k chunks, Python lists
        # of ints (or all token lists held at once) would cost gigabytes.
        self.vocab: dict[str, int] = {}
        rows = array("i")
        cols = array("i")
        counts = array("f")
        lengths = array("d")
        for row, tokens in enumerate(documents):
            lengths.append(len(tokens))
            tf: dict[int, int] = {}
            for token in tokens:
                col = self.vocab.setdefault(token, len(self.vocab))
                tf[col] = tf.get(col, 0) + 1
            rows.extend([row] * len(tf))
            cols.extend(tf.keys())
            counts.extend(tf.values())
        n_docs = len(lengths)
        self.n_docs = n_docs
        tf_matrix = sparse.csc_matrix(
            (
                np.frombuffer(counts, dtype=np.float32).astype(np.float64),
                (np.frombuffer(rows, dtype=np.int32), np.frombuffer(cols, dtype=np.int32)),
            ),
            shape=(n_docs, len(self.vocab)),
        )
        del rows, cols, counts
        doc_freq = np.diff(tf_matrix.indptr).astype(np.float64)
        idf = np.log1p((n_docs - doc_freq + 0.5) / (doc_freq + 0.5))
        doc_lengths = np.frombuffer(lengths, dtype=np.float64)
        avg_len = float(doc_lengths.mean()) if n_docs else 1.0
        norm = k1 * (1 - b + b * doc_lengths / max(avg_len, 1e-9))
        data = tf_matrix.data
        row_idx = tf_matrix.indices
        col_of_entry = np.repeat(np.arange(tf_matrix.shape[1]), np.diff(tf_matrix.indptr))
        self._idf = idf
        # A term the corpus never uses is as specific as a term can be.
        self.unseen_idf = float(np.log1p((n_docs + 0.5) / 0.5))
        weights = idf[col_of_entry] * data * (k1 + 1) / (data + norm[row_idx])
        self._weights = sparse.csc_matrix(
            (weights, row_idx, tf_matrix.indptr), shape=tf_matrix.shape
        )

    def knows(self, token: str) -> bool:
        return token in self.vocab

    def idf(self, token: str) -> float:
        col = self.vocab.get(token)
        return self.unseen_idf if col is None else float(self._idf[col])

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the question's tokens (repeats count once)."""
        cols = sorted({self.vocab[t] for t in query_tokens if t in self.vocab})
        if not cols or self.n_docs == 0:
            return np.zeros(self.n_docs, dtype=np.float64)
        return np.asarray(self._weights[:, cols].sum(axis=1)).ravel()


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    score: float
    rank: int


class KeywordIndex:
    """BM25 over a fixed set of chunks, with per-chunk fields usable as filters."""

    def __init__(
        self,
        chunk_ids: Sequence[str],
        token_lists: Iterable[Sequence[str]],
        fields: dict[str, Sequence[str]] | None = None,
    ) -> None:
        """``token_lists`` may be a generator that fills ``chunk_ids`` and ``fields`` as it goes
        (the index is then built in one streaming pass)."""
        self._bm25 = BM25(token_lists)
        self.chunk_ids = list(chunk_ids)
        # Each field as integer codes: a filter of 30,000 allowed documents is then one array
        # lookup per chunk (np.isin over strings took 35 s per question at 100k chunks).
        self._fields: dict[str, tuple[dict[str, int], np.ndarray]] = {}
        for name, values in (fields or {}).items():
            codes: dict[str, int] = {}
            column = np.fromiter((codes.setdefault(v, len(codes)) for v in values), np.int64)
            self._fields[name] = (codes, column)
        self._rows: dict[str, int] | None = None  # chunk id -> row, built on first use
        self._last_mask: tuple[dict[str, list[str]], np.ndarray] | None = None
        self._written: dict[str, bool] = {}

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def mask(self, filters: dict[str, list[str]]) -> np.ndarray:
        """Which chunks ``filters`` allows (every field's value among its allowed values).

        The last mask is kept for the same ``filters`` object: a question's keyword and dense
        searches share one (the library hands out one filter object per scope and day, never
        changed after)."""
        last = self._last_mask
        if last is not None and last[0] is filters:
            return last[1]
        mask = np.ones(len(self.chunk_ids), dtype=bool)
        for name, allowed in filters.items():
            field = self._fields.get(name)
            if field is None:
                raise KeyError(f"keyword index has no field {name!r} to filter on")
            codes, column = field
            keep = np.zeros(len(codes), dtype=bool)
            keep[[codes[v] for v in allowed if v in codes]] = True
            mask &= keep[column]
        mask.flags.writeable = False  # shared by the searches of a question; a filter guards access
        self._last_mask = (filters, mask)
        return mask

    def allows(self, chunk_ids: Sequence[str], mask: np.ndarray) -> list[bool]:
        """Whether each of ``chunk_ids`` is allowed by ``mask`` (a chunk this index does not
        hold is not: it was written after the index was built)."""
        if self._rows is None:
            self._rows = {cid: i for i, cid in enumerate(self.chunk_ids)}
        rows = self._rows
        return [cid in rows and bool(mask[rows[cid]]) for cid in chunk_ids]

    def knows(self, token: str) -> bool:
        """Whether any indexed chunk holds the keyword token."""
        return self._bm25.knows(token)

    def writes(self, word: str) -> bool:
        """Whether any indexed chunk writes ``word`` as a word or inside one: 社保 is written
        where jieba reads 社保费 as one word (its character pair may only span two words, as
        _高企 does in 提高企业). Scans the vocabulary once per word, then remembers."""
        written = self._written.get(word)
        if written is None:
            written = any(word in token for token in self._bm25.vocab if token[0] != "_")
            self._written[word] = written
        return written

    def idf(self, token: str) -> float:
        """Inverse document frequency of a keyword token over the indexed chunks."""
        return self._bm25.idf(token)

    def search(
        self, question: str, k: int, filters: dict[str, list[str]] | None = None
    ) -> list[KeywordHit]:
        scores = self._bm25.scores(tokenize(question))
        if filters:
            scores = np.where(self.mask(filters), scores, 0.0)
        k = min(k, len(self.chunk_ids))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            KeywordHit(self.chunk_ids[i], float(scores[i]), rank)
            for rank, i in enumerate(top, start=1)
            if scores[i] > 0
        ]
