"""Python ``re`` under a deadline, in a child process killed when the deadline passes."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from collections.abc import Sequence


class PythonTimeout(TimeoutError):
    """Python ``re`` did not finish within its time budget (the child process was killed)."""


_WORKER = """
import pickle, re, sys
texts, patterns, flags = pickle.load(sys.stdin.buffer)
compiled = [re.compile(p, flags) for p in patterns]
sys.stdout.buffer.write(bytes(c.search(t) is not None for t in texts for c in compiled))
"""


def python_search(
    texts: Sequence[str], patterns: Sequence[str], ignorecase: bool, timeout_s: float
) -> list[list[bool]]:
    """Per text, per pattern: whether Python ``re.search`` matches, computed in a child process
    that is killed after ``timeout_s`` seconds (raises :class:`PythonTimeout`)."""
    if not texts or not patterns:
        return [[False] * len(patterns) for _ in texts]
    payload = pickle.dumps((list(texts), list(patterns), re.IGNORECASE if ignorecase else 0))
    with subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        try:
            out, err = proc.communicate(payload, timeout=max(timeout_s, 0.001))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise PythonTimeout(f"Python re ran past its {timeout_s:g} s budget") from None
    if proc.returncode != 0:
        raise RuntimeError(f"Python re worker failed: {err.decode(errors='replace').strip()}")
    n = len(patterns)
    return [[bool(b) for b in out[i * n : (i + 1) * n]] for i in range(len(texts))]
