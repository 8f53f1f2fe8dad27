"""Export a sentence-transformers model to ONNX (and a dynamically quantised copy), for `assistant.onnx_embed`.

Run as a child process (`python -m assistant.onnx_export MODEL FOLDER`) so that the process that serves
queries never imports torch: the export needs torch and transformers, the ONNX embedder only onnxruntime and
tokenizers. The export follows MACHINE-NOTES: eager attention, the TorchScript exporter (`dynamo=False`),
opset 17; the quantised copy is onnxruntime's dynamic quantisation with unsigned 8-bit weights.

The folder is written whole into a temporary sibling and renamed into place, so a killed export leaves
nothing that looks finished. It holds `model.onnx`, `model.quint8.onnx`, the tokenizer's `tokenizer.json` and
`export.json` (pooling mode, maximum length, dimension, input names).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

OPSET = 17
FP32_FILE = "model.onnx"
QUINT8_FILE = "model.quint8.onnx"
META_FILE = "export.json"
POOLING_MODES = ("mean", "cls", "max")


def _pooling(model: Any) -> str:
    """The pooling of the model's Pooling module ('mean', 'cls' or 'max'); other poolings are not exported."""
    for module in model:
        mode = getattr(module, "pooling_mode", None)
        if isinstance(mode, str):
            mode = {"mean_tokens": "mean", "cls_token": "cls", "max_tokens": "max"}.get(mode, mode)
            if mode in POOLING_MODES:
                return mode
            raise SystemExit(f"pooling {mode!r} has no ONNX embedder; use ASSISTANT_EMBEDDING_BACKEND=torch")
    raise SystemExit(
        "the model has no pooling module that names its mode; use ASSISTANT_EMBEDDING_BACKEND=torch"
    )


def export(model_path: str, folder: Path) -> None:
    """Write the exported model into `folder` (which must not exist yet)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu", model_kwargs={"attn_implementation": "eager"})
    others = [
        type(m).__name__ for m in model if type(m).__name__ not in ("Transformer", "Pooling", "Normalize")
    ]
    if (
        others
    ):  # a Dense projection after pooling, say: the ONNX embedder runs the transformer and pooling only
        raise SystemExit(f"the model has modules the ONNX embedder does not run ({', '.join(others)})")
    transformer: Any = model[0]
    auto_model: Any = transformer.auto_model.eval()
    tokenizer: Any = transformer.tokenizer
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            hidden: torch.Tensor = self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state
            return hidden

    sample = tokenizer(["a short sample", "and another sample text"], padding=True, return_tensors="pt")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        with torch.no_grad():
            torch.onnx.export(
                Hidden(),
                tuple(sample[n] for n in names),
                str(work / FP32_FILE),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={
                    **{n: {0: "batch", 1: "tokens"} for n in names},
                    "last_hidden_state": {0: "batch", 1: "tokens"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
        quantize_dynamic(str(work / FP32_FILE), str(work / QUINT8_FILE), weight_type=QuantType.QUInt8)
        tokenizer.backend_tokenizer.save(str(work / "tokenizer.json"))
        meta = {
            "model": model_path,
            "pooling": _pooling(model),
            "max_seq_length": int(model.max_seq_length or 256),
            "dimension": int(auto_model.config.hidden_size),
            "inputs": names,
            "opset": OPSET,
            "torch": torch.__version__,
        }
        (work / META_FILE).write_text(json.dumps(meta, indent=2))
        work.rename(folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m assistant.onnx_export MODEL_PATH FOLDER")
    export(sys.argv[1], Path(sys.argv[2]))
