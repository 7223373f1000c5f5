"""Token counts in parallel: child processes counting Qwen3 tokens, one per core.

Counting is most of what a token report costs (ids are never kept). In one process tiktoken on
Qwen3's ranks does not run in parallel here (its thread-per-text batch reached 2.0M tokens/s on
two cores, a plain loop up to 3.3M on one). So large reports count in a :class:`CountPool` of
child processes, one per core: each loads a counter (:func:`counter`: ``fastokens`` on the offline
tokenizer.json, ~10M tokens/s per core, or tiktoken) and counts its share of every batch.
``tests/test_fast_count.py`` checks the pool's counts against the ids' lengths on every
training-shaped row of ../shared/data.

The pool starts once a renderer has counted :data:`LOAD_AFTER_TEXTS` texts, so small reports
never pay for processes, and it is only ever a speed-up: any failure (a child that did not start
or died) turns it off and the texts are counted in process, with the same result.
"""

from __future__ import annotations

import threading
import unicodedata
from typing import Any

#: Texts a renderer counts in process before starting the pool.
LOAD_AFTER_TEXTS = 20_000
#: Count workers at most (one per core up to this).
MAX_WORKERS = 8


class CountWorker:
    """One child process with tiktoken on Qwen3's ranks. Started with ``spawn`` (threads of Polars
    and tiktoken make ``fork`` unsafe) as a daemon: it ends with dq."""

    def __init__(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=serve, args=(child,), daemon=True)
        self._proc.start()
        child.close()
        self.state = "loading"

    def poll(self, timeout: float = 0.0) -> str:
        """``loading``, ``ready`` or ``failed``; waits up to ``timeout`` seconds for the load."""
        if self.state == "loading" and self._conn.poll(timeout):
            self.state = "ready" if self.receive() == "ready" else "failed"
        return self.state

    def send(self, texts: list[str] | None) -> bool:
        try:
            self._conn.send(texts)
        except (OSError, ValueError):
            return False
        return True

    def receive(self) -> Any:
        try:
            return self._conn.recv()
        except (OSError, EOFError):
            return None

    def close(self) -> None:
        if self.send(None):
            self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.terminate()


class CountPool:
    """Count workers, each batch split between them (see the module docstring)."""

    def __init__(self, workers: int) -> None:
        self.workers = [CountWorker() for _ in range(workers)]
        self.lock = threading.Lock()  # one batch at a time on the pipes (callers may be threads)
        self.state = "loading"
        self.counted = 0  # texts counted by the children (tests check the pool really ran)

    def wait(self, timeout: float) -> bool:
        """Block until every child has loaded or one failed (tests; runs never wait)."""
        return self._settle({w.poll(timeout) for w in self.workers})

    def ready(self) -> bool:
        """Every child has loaded (never blocks). Callers may be threads: only one at a time reads
        the children's "ready" (two could both see it waiting, and one would then wait forever)."""
        if self.state != "loading" or not self.lock.acquire(blocking=False):
            return self.state == "ready"
        try:
            return self._settle({w.poll() for w in self.workers})
        finally:
            self.lock.release()

    def _settle(self, states: set[str]) -> bool:
        if "failed" in states:
            self.state = "failed"
        elif states == {"ready"}:
            self.state = "ready"
        return self.state == "ready"

    def count(self, texts: list[str]) -> list[int] | None:
        """Counts of texts without added-token markup; None when the pool failed (count elsewhere)."""
        size = max(1, -(-len(texts) // len(self.workers)))
        parts = [texts[i : i + size] for i in range(0, len(texts), size)]
        with self.lock:
            if self.state == "failed":
                return None
            busy = [w for w, part in zip(self.workers, parts, strict=False) if w.send(part)]
            replies = [w.receive() for w in busy]
        counts = [n for reply in replies if isinstance(reply, list) for n in reply]
        if len(busy) < len(parts) or len(counts) != len(texts):
            self.state = "failed"
            return None
        self.counted += len(texts)
        return counts

    def close(self) -> None:
        for w in self.workers:
            w.close()


def serve(conn: Any) -> None:
    """The child: load a counter, then answer each batch with its counts (NFC first, as the Rust
    normalizer does)."""
    try:
        count = counter()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which counts in process
        conn.send(f"failed: {type(exc).__name__}: {exc}")
        return
    conn.send("ready")
    while (texts := conn.recv()) is not None:
        conn.send([count(unicodedata.normalize("NFC", t)) for t in texts])


def counter() -> Any:
    """Token count of a markup-free text: ``fastokens`` on the offline Qwen3 tokenizer.json when it
    is installed (PCRE2-JIT pre-tokenizer, ~10M tokens/s per core here, the same ids on every text
    of ../shared/data), else tiktoken on the same ranks (~2-3M tokens/s)."""
    try:
        from fastokens import Tokenizer
    except ImportError:
        Tokenizer = None  # noqa: N806 - the optional class
    if Tokenizer is not None:
        from dq.render.qwen3_tokenizer import build_into_cache

        fast = Tokenizer.from_file(str(build_into_cache()[0] / "tokenizer.json"))
        return lambda text: len(fast.encode_ordinary(text).ids)
    from dq.render.tiktoken_encoder import encoding

    enc = encoding()
    if enc is None:
        raise ImportError("neither fastokens nor tiktoken is installed")
    return lambda text: len(enc.encode_ordinary(text))


_pools: list[CountPool] = []
_starting = threading.Lock()


def pool() -> CountPool | None:
    """The process's count pool, started at the first call; None without tiktoken or after a failure."""
    from dq.render.tiktoken_encoder import encoding

    if encoding() is None:
        return None
    with _starting:  # two threads counting at once must not each start a pool
        if not _pools:
            import atexit
            import os

            _pools.append(CountPool(max(1, min(MAX_WORKERS, os.cpu_count() or 1))))
            atexit.register(_pools[0].close)
    return None if _pools[0].state == "failed" else _pools[0]
