"""The bf16 pass compiled with torch.compile (inductor, weights frozen) once the input is large enough.

Frozen weights let inductor prepack them for oneDNN and fuse GELU and the biases into the linear
layers, and the LayerNorms into the residual adds: the bf16 pass runs ~1.25x faster than eager
(3,000 OpenMath-shaped problems on two cores of an Intel Xeon with AMX: 5.6 → 4.4 s; cosines within
6e-5 of eager's). Compiling costs 15-30 s per process (torch caches the C++ kernels on disk, which
makes later processes quicker), so ``auto`` compiles only for a call of ``MIN_TEXTS`` texts or more,
and only where a C++ compiler is on PATH. The vectors only route rows (fp32 scores what is
reported), so a compiled and an eager pass report the same pairs.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from dq.errors import DqError

#: Texts in one bf16 call from which compiling pays for itself (~15-30 s against ~1 ms saved a text).
MIN_TEXTS = 20_000


def compiler_found() -> bool:
    """Whether inductor can build its CPU kernels: a C++ compiler (``$CXX``, c++, g++ or clang++)."""
    names = [os.environ.get("CXX", ""), "c++", "g++", "clang++"]
    return any(shutil.which(n) for n in names if n)


class Bf16Runner:
    """Last hidden states of the bf16 model for one padded batch: compiled when it pays, else eager.

    ``mode``: ``auto`` (compile from ``MIN_TEXTS`` texts in a call, where a C++ compiler is found;
    a failed compile falls back to eager for the rest of the process, saying so in one line),
    ``on`` (always; a failed compile stops with a ``DqError``), ``off`` (never).
    """

    def __init__(self, model: Any, mode: str = "auto") -> None:
        if mode not in ("auto", "on", "off"):
            raise DqError(f"dq.semantic: bf16_compile must be auto, on or off, not '{mode}'")
        self.model = model
        self.mode = mode
        self.failed = False
        self._compiled: Any = None

    def wants_compiled(self, texts: int) -> bool:
        """Whether a call embedding ``texts`` texts runs the compiled model."""
        if self.mode == "off" or self.failed:
            return False
        if self.mode == "on" or self._compiled is not None:
            return True
        return texts >= MIN_TEXTS and compiler_found()

    def __call__(self, input_ids: Any, mask: Any, compiled: bool) -> Any:
        if compiled and not self.failed:
            try:
                return self._compiled_forward(input_ids, mask)
            except Exception as exc:  # inductor raises many types; eager gives the same routing
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                if self.mode == "on":  # one line, not inductor's multi-page report
                    raise DqError(
                        f"dq.semantic: bf16_compile = 'on' but torch.compile failed: {first_line}"
                    ) from exc
                self.failed = True
                print(
                    f"dq.semantic: torch.compile failed ({first_line}); the bf16 pass runs eager",
                    file=sys.stderr,
                )
        return self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state

    def _compiled_forward(self, input_ids: Any, mask: Any) -> Any:
        import torch
        from torch._inductor import config as inductor_config

        if self._compiled is None:
            # dynamic: one graph for every batch width (widths come in steps of 16) and batch size
            self._compiled = torch.compile(self.model, dynamic=True)
        # freezing is read while compiling (first call, and any recompile); patched, not set globally
        with inductor_config.patch(freezing=True):
            return self._compiled(input_ids=input_ids, attention_mask=mask).last_hidden_state
