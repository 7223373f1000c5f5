"""The sentence model's torch weights, loaded by transformers without its progress bar.

transformers draws a "Loading weights" bar on stderr for every load, terminal or not; dq loads the
model up to three times in a run (fp32, the bf16 copy, the ONNX export), and those bars are not
dq's output. The bar's setting is restored afterwards: dq used as a library leaves it as it was.
"""

from __future__ import annotations

from typing import Any


def auto_model(source: str, **kwargs: Any) -> Any:
    """``AutoModel.from_pretrained(source, local_files_only=True, **kwargs)``, no progress bar."""
    from transformers import AutoModel
    from transformers.utils import logging

    shown = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        return AutoModel.from_pretrained(source, local_files_only=True, **kwargs)
    finally:
        if shown:
            logging.enable_progress_bar()
