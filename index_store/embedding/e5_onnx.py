"""The e5 encoder's int8 form: an ONNX graph built in memory, run by onnxruntime.

onnxruntime comes with chromadb, and its CPU kernels include ``DynamicQuantizeMatMul`` (the
activations quantised per call to uint8, int8 weights with a scale per output channel, int32
accumulation, bias added in fp32) and a fused ``MultiHeadAttention``, faster than fbgemm's
dynamic int8 linear through torch and than bf16 (``docs/experiments/quality-notes.md``,
"Embedder precision").

A call quantises its activations with one scale, and ``<s>`` and ``</s>`` carry the largest
ones (the widest row of every Q/K/V and FFN input, up to 8x a word's range). So the graph keeps
two tensors through every per-token step, the words and the two special tokens, each quantised
with its own scale, and joins them only for attention (mean 1 - cosine to fp32 over 300 real
passages 0.0025 -> 0.0004). Attention needs no positions of its own (they are in the
embeddings) and no mask (one text per call), so the two tensors' order does not matter. The
graph returns each tensor's sum over tokens; the caller adds them and divides by the length.

Nothing is written to disk: the graph (about 22 MB, int8 weights) is built from the fp32
weights at load, in a fraction of a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnxruntime
    from onnx import NodeProto, TensorProto

_CONTRIB = "com.microsoft"


class Int8Encoder:
    """One text per :meth:`token_sums` call; calls from several threads run side by side, each
    on its own thread (the session is single-threaded per call)."""

    def __init__(self, weights: dict[str, np.ndarray], layers: int, heads: int, eps: float) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        graph = build_graph(weights, layers, heads, eps)
        self._session: onnxruntime.InferenceSession = onnxruntime.InferenceSession(
            graph, options, providers=["CPUExecutionProvider"]
        )

    def token_sums(self, embedded: np.ndarray) -> np.ndarray:
        """``embedded`` [tokens, hidden] (``<s>`` first, ``</s>`` last, word + position + type
        embeddings before their layer norm) -> the encoder output summed over tokens."""
        feeds = {
            "words": np.ascontiguousarray(embedded[None, 1:-1]),
            "ends": np.ascontiguousarray(embedded[None, [0, -1]]),
        }
        words, ends = self._session.run(None, feeds)
        return np.asarray(words[0] + ends[0], dtype=np.float32)


def quantize_rows(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[out, in]`` fp32 -> int8 values and one fp32 scale per output row (symmetric)."""
    scales = np.maximum(np.abs(weight).max(axis=1), 1e-8) / 127
    values = np.clip(np.rint(weight / scales[:, None]), -127, 127).astype(np.int8)
    return values, scales.astype(np.float32)


def build_graph(weights: dict[str, np.ndarray], layers: int, heads: int, eps: float) -> bytes:
    """The serialised model. ``weights`` uses E5Model's names: ``emb.ln.*`` and, per layer
    ``lN.``, the linears ``qkv`` (Q, K and V fused), ``ao``, ``fi``, ``fo`` as ``[out, in]``
    ``.w`` and ``.b``, and the layer norms ``aln`` and ``oln``."""
    from onnx import TensorProto, ValueInfoProto, helper

    builder = _GraphBuilder(weights)
    hidden = weights["emb.ln.w"].shape[0]
    parts = {part: builder.layer_norm(part, "emb.ln", eps) for part in ("words", "ends")}
    # The split of the joined attention output: the two ends first, then the words.
    builder.node("Shape", ["words"], ["words.shape"])
    builder.node("Gather", ["words.shape", builder.constant("one", [1])], ["words.len"], axis=0)
    builder.node("Concat", [builder.constant("two", [2]), "words.len"], ["ends|words"], axis=0)
    for n in range(layers):
        p = f"l{n}."
        qkv = {part: builder.linear(x, p + "qkv") for part, x in parts.items()}
        joined = builder.node("Concat", [qkv["ends"], qkv["words"]], axis=1)
        q, k, v = (builder.fresh() for _ in range(3))
        builder.node("Split", [joined], [q, k, v], axis=2, num_outputs=3)
        attended = builder.node("MultiHeadAttention", [q, k, v], domain=_CONTRIB, num_heads=heads)
        split = {"ends": builder.fresh(), "words": builder.fresh()}
        builder.node("Split", [attended, "ends|words"], [split["ends"], split["words"]], axis=1)
        for part, x in parts.items():
            x = builder.residual(x, builder.linear(split[part], p + "ao"), p + "aln", eps)
            inner = builder.node("Gelu", [builder.linear(x, p + "fi")], domain=_CONTRIB)
            parts[part] = builder.residual(x, builder.linear(inner, p + "fo"), p + "oln", eps)
    axis = builder.constant("axis1", [1])
    for part, x in parts.items():
        builder.node("ReduceSum", [x, axis], [part + ".sum"], keepdims=0)

    def tensor(name: str, length: int | None) -> ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, length, hidden])

    graph = helper.make_graph(
        builder.nodes,
        "e5-int8",
        [tensor("words", None), tensor("ends", 2)],
        [
            helper.make_tensor_value_info(part + ".sum", TensorProto.FLOAT, [1, hidden])
            for part in ("words", "ends")
        ],
        builder.initializers,
    )
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid(_CONTRIB, 1)]
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()  # type: ignore[no-any-return]


class _GraphBuilder:
    """Nodes and initialisers, each weight added once however often it is used."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[NodeProto] = []
        self.initializers: list[TensorProto] = []
        self._added: set[str] = set()
        self._count = 0

    def fresh(self) -> str:
        self._count += 1
        return f"t{self._count}"

    def initializer(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        if name not in self._added:
            self._added.add(name)
            self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def constant(self, name: str, values: list[int]) -> str:
        return self.initializer(name, np.array(values, dtype=np.int64))

    def node(
        self,
        op: str,
        inputs: list[str],
        outputs: list[str] | None = None,
        domain: str = "",
        **attributes: Any,
    ) -> str:
        from onnx import helper

        outputs = outputs or [self.fresh()]
        self.nodes.append(helper.make_node(op, inputs, outputs, domain=domain, **attributes))
        return outputs[0]

    def residual(self, x: str, update: str, norm: str, eps: float) -> str:
        """``LayerNorm(x + update)``, as each sublayer of a post-norm encoder ends."""
        return self.layer_norm(self.node("Add", [x, update]), norm, eps)

    def layer_norm(self, x: str, name: str, eps: float) -> str:
        gamma = self.initializer(name + ".w", self.weights[name + ".w"])
        beta = self.initializer(name + ".b", self.weights[name + ".b"])
        return self.node("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=eps)

    def linear(self, x: str, name: str) -> str:
        """``x @ W.T + b`` with W int8 per output channel and x quantised per call."""
        if name + ".q" not in self._added:
            values, scales = quantize_rows(self.weights[name + ".w"])
            self.initializer(name + ".q", values.T)  # [in, out], as MatMul takes it
            self.initializer(name + ".s", scales)
            self.initializer(name + ".z", np.zeros(len(scales), dtype=np.int8))
            self.initializer(name + ".b", self.weights[name + ".b"])
        inputs = [x, name + ".q", name + ".s", name + ".z", name + ".b"]
        return self.node("DynamicQuantizeMatMul", inputs, domain=_CONTRIB)
