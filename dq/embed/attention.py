"""Attention for the bf16 pass: scaled dot-product attention computed in fp32 in a bf16 model.

The bf16 pass runs the model in bfloat16 (weights and activations: the linear layers are the bulk
of its arithmetic). Its attention is better computed in fp32, for two measured reasons:

- eager attention in bf16 (batched 32-wide head products, mask add, softmax in separate passes)
  took 45 % of the bf16 pass over 1M OpenMath-shaped rows; fp32 SDPA (one fused kernel) runs the
  whole pass 1.3-1.5x faster, with cosines as close to fp32's as before;
- SDPA *in bf16* calls MKL's bf16 GEMM inside an OpenMP region, and once numba's OpenMP layer has
  loaded the system libgomp (the lexical checks run first in a rule set) those calls nest thread
  teams: 55x slower. SDPA in fp32 does not (checked in a process where numba ran first).

The function is registered with transformers' attention and mask registries under ``NAME`` on
first use (no import-time side effect); a model loaded with ``attn_implementation=NAME`` uses it.
"""

from __future__ import annotations

import functools
from typing import Any

NAME = "dq_fp32_sdpa"


def fp32_sdpa(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[Any, None]:
    """transformers' attention signature: (batch, heads, len, dim) in, (batch, len, heads, dim) out.

    ``attention_mask`` is transformers' SDPA mask (bool, True = attend) or None (no padding).
    Inference only: ``dropout`` is ignored.
    """
    import torch

    dtype = query.dtype
    with torch.autocast("cpu", enabled=False):  # fp32 even for a caller running under autocast
        out = torch.nn.functional.scaled_dot_product_attention(
            query.float(), key.float(), value.float(), attn_mask=attention_mask, scale=scaling
        )
    return out.transpose(1, 2).contiguous().to(dtype), None


@functools.cache
def register() -> str | None:
    """Register ``fp32_sdpa`` under ``NAME``; None where this transformers has no such registries."""
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    except ImportError:  # transformers < 4.53: no bf16 pass (fp32 only)
        return None
    AttentionInterface.register(NAME, fp32_sdpa)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
