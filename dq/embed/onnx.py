"""ONNX Runtime inference for the full model: the same weights, fp32, exported once and cached.

``torch.onnx.export`` (TorchScript exporter, opset 17) writes a graph that returns the pooled,
L2-normalised sentence vector, so ONNX Runtime does the pooling too. The file lives in the
embedding cache (``<cache>/<model fingerprint>/model-<exporter key>.onnx``, atomic write) and is
rebuilt when missing. fp32 only: an int8-quantized graph changed match decisions near the
threshold. Needs the ``onnxruntime`` and ``onnx`` packages; callers fall back to torch without them.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: Bumped when the exported graph changes (part of the cached file's name).
EXPORT_KEY = "v1-opset17-meanpool"


def available() -> bool:
    """Whether ONNX Runtime and the ONNX exporter's dependency are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def export(model: Any, path: Path, pooling: str = "mean") -> Path:
    """Export ``model`` (a transformers encoder) with pooling and normalisation to ``path``."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if pooling == "cls":
                vec = hidden[:, 0]
            else:
                m = attention_mask.unsqueeze(-1).to(hidden.dtype)
                vec = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(vec, dim=-1)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
    os.close(fd)
    ids = torch.ones((2, 16), dtype=torch.long)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
            torch.onnx.export(
                Pooled(model.cpu().eval()),
                (ids, torch.ones_like(ids)),
                tmp,
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"}},
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def session(path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session for ``path`` (intra-op threads: torch's count unless given)."""
    import onnxruntime as ort
    import torch

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run(sess: Any, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sentence vectors of one padded batch (int64 inputs), float32."""
    out = sess.run(["embedding"], {"input_ids": input_ids, "attention_mask": mask})[0]
    return np.asarray(out, dtype=np.float32)
