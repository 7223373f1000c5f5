"""The numba kernels of the near-duplicate checks, imported on first use.

Registering or listing checks must not load numba (0.5 s) or compile anything; the first check
that runs imports them, and on a terminal says so when numba has nothing cached yet.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any


class _OnFirstUse:
    """A module imported on first attribute access: registering checks must not compile numba."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            _announce_first_compile(self._name)
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


def _announce_first_compile(module: str) -> None:
    """On a terminal, say so when numba has no cached kernels for ``module`` yet (one-time cost)."""
    import sys
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec(module)
    if not sys.stderr.isatty() or spec is None or spec.origin is None:
        return
    stem = module.rsplit(".", 1)[-1]
    if not any((Path(spec.origin).parent / "__pycache__").glob(f"{stem}.*.nbi")):
        print(
            f"dq: compiling the near-duplicate kernels ({stem}, numba) on first use on this machine; "
            "about 15 s, cached for later runs",
            file=sys.stderr,
        )


if TYPE_CHECKING:
    from dq.contamination import lsh, shingles
else:
    lsh = _OnFirstUse("dq.contamination.lsh")
    shingles = _OnFirstUse("dq.contamination.shingles")
