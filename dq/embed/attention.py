"""Attention for the bf16 pass: one fused SDPA kernel, computed in bf16 or fp32, whichever runs faster here.

The bf16 pass runs the model in bfloat16 (weights and activations: the linear layers are the bulk
of its arithmetic). Its attention is one ``scaled_dot_product_attention`` call, for measured reasons:

- eager attention in bf16 (batched 32-wide head products, mask add, softmax in separate passes)
  took 45 % of the bf16 pass over 1M OpenMath-shaped rows; SDPA (one fused kernel) runs the whole
  pass 1.3-1.5x faster in fp32, and faster again in bf16, with cosines as close to fp32's;
- SDPA *in bf16* is ~3x fp32's on an Intel Xeon with AMX, but on an AMD EPYC it calls MKL's bf16
  GEMM inside an OpenMP region, and once numba's OpenMP layer has loaded the system libgomp (the
  lexical checks run first in a rule set) those calls nest thread teams: 55x slower. SDPA in fp32
  does not. Which one a process gets depends on the CPU and on what ran before, so
  ``choose_compute_dtype`` times both on one batch (~20 ms) each time the bf16 pass starts.

The function is registered with transformers' attention and mask registries under ``NAME`` on
first use (no import-time side effect); a model loaded with ``attn_implementation=NAME`` uses it.
"""

from __future__ import annotations

import functools
import time
from typing import Any

NAME = "dq_sdpa"
COMPUTE_DTYPE = "dq_attention_dtype"  # set on a model's config by ``choose_compute_dtype``


def sdpa(
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

    Computed in the dtype named by the model config's ``COMPUTE_DTYPE`` (fp32 when unset).
    ``attention_mask`` is transformers' SDPA mask (bool, True = attend) or None (no padding).
    Inference only: ``dropout`` is ignored.
    """
    import torch

    dtype = query.dtype
    compute = getattr(torch, getattr(getattr(module, "config", None), COMPUTE_DTYPE, "float32"))
    with torch.autocast("cpu", enabled=False):  # the chosen dtype even for a caller under autocast
        out = torch.nn.functional.scaled_dot_product_attention(
            query.to(compute), key.to(compute), value.to(compute), attn_mask=attention_mask, scale=scaling
        )
    return out.transpose(1, 2).contiguous().to(dtype), None


#: Once chosen, a dtype is kept unless the other runs this many times faster: a compiled pass
#: recompiles (15-30 s) when the dtype changes, and near-equal timings must not make it flap.
SWITCH_FACTOR = 1.5


def choose_compute_dtype(model: Any, length: int = 64, batch: int = 32, repeats: int = 3) -> str:
    """Set (and return) the faster of bf16 and fp32 attention for ``model``, timed on one padded batch.

    The best of ``repeats`` timings of each: bf16 is expected ~3x faster, and 55x slower where
    OpenMP teams nest, so noise on a shared machine does not change the choice; a dtype already
    chosen is kept unless the other is ``SWITCH_FACTOR`` times faster.
    """
    import torch

    config = model.config
    heads = config.num_attention_heads
    shape = (batch, heads, length, config.hidden_size // heads)
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(shape, generator=gen) for _ in range(3))
    mask = torch.arange(length)[None, :] < torch.linspace(length // 2, length, batch)[:, None]
    mask = mask[:, None, None, :].expand(batch, 1, length, length)

    def best(dtype: Any) -> float:
        args = (q.to(dtype), k.to(dtype), v.to(dtype))
        times = []
        with torch.inference_mode():
            for _ in range(repeats + 1):  # the first call warms kernels up
                start = time.perf_counter()
                torch.nn.functional.scaled_dot_product_attention(*args, attn_mask=mask)
                times.append(time.perf_counter() - start)
        return min(times[1:])

    seconds = {"bfloat16": best(torch.bfloat16), "float32": best(torch.float32)}
    chosen = pick(getattr(config, COMPUTE_DTYPE, None), seconds)
    setattr(config, COMPUTE_DTYPE, chosen)
    return chosen


def pick(current: str | None, seconds: dict[str, float]) -> str:
    """The dtype to use: the faster one (bf16 on a tie), or ``current`` unless clearly beaten."""
    fastest = min(seconds, key=lambda d: (seconds[d], d != "bfloat16"))
    if current in seconds and seconds[fastest] * SWITCH_FACTOR > seconds[current]:
        return current
    return fastest


@functools.cache
def register() -> str | None:
    """Register ``sdpa`` under ``NAME``; None where this transformers has no such registries."""
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    except ImportError:  # transformers < 4.53: no bf16 pass (fp32 only)
        return None
    AttentionInterface.register(NAME, sdpa)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
