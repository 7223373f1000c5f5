"""Exact Qwen3 token counts at Rust speed: bpe-qwen for the texts it provably tokenizes as tiktoken does.

Counting is most of what a token report costs (the ids are never kept). tiktoken on Qwen3's ranks
reaches ~1.1M tokens/s here; ``bpe-qwen`` (rust-gems' linear-time BPE with a lookahead-free
pre-tokenizer for Qwen's regex, batch-parallel in Rust) ~7.9M tokens/s on the same ranks. It is not
a drop-in replacement: fuzzing it against tiktoken found three shapes where its ids differ (text
that ends in whitespace, text that starts with an apostrophe, a contraction not in lower case such
as ``'S`` or ``'rE``) and its README says some multi-byte UTF-8 is mishandled. So a text goes to it
only when it is ASCII, holds no added-token markup and none of those shapes (:func:`bpe_qwen_safe`);
every other text takes the tiktoken/Rust path. ``tests/test_fast_count.py`` checks the counts
against tiktoken on random ASCII (hypothesis) and on every text of ../shared/data.

Loading bpe-qwen's tables costs ~14 s and holds the GIL (the vocabulary and merges are written once
to the tokenizer cache folder, but its BPE automaton is rebuilt at every load). So it loads in a
child process (:class:`CountWorker`), started once a renderer has counted :data:`LOAD_AFTER_TEXTS`
texts: small reports never start it, large ones count with tiktoken until it is ready. The counts
are the same either way.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

#: Texts a renderer counts before bpe-qwen is worth starting (its worker then loads in the background).
LOAD_AFTER_TEXTS = 20_000


def bpe_qwen_safe(text: str) -> bool:
    """True when bpe-qwen's ids for ``text`` are Qwen3's (ASCII, so NFC changes nothing).

    Single C scans first (``isascii``, ``in``, ``find``): a regex over every solution would cost
    more than counting it.
    """
    if not text or not text.isascii() or text[0] == "'" or text[-1].isspace():
        return False
    if "'" in text and upper_contraction(text):
        return False
    if "<" in text:
        from dq.render.tiktoken_encoder import markup

        return markup().search(text) is None
    return True


def upper_contraction(text: str) -> bool:
    """An apostrophe before ``[A-Za-z]?[A-Z]`` (bpe-qwen matches Qwen's ``(?i:'s|'t|...)`` case-sensitively)."""
    at = text.find("'")
    while at != -1:
        after = text[at + 1 : at + 3]
        if after[:1].isupper() or (len(after) == 2 and after[0].isalpha() and after[1].isupper()):
            return True
        at = text.find("'", at + 1)
    return False


def tables_folder() -> Path:
    """``vocab.json`` and ``merges.txt`` (bpe-qwen's input format) beside the offline tokenizer build."""
    from dq.render.qwen3_tokenizer import build_into_cache

    folder = build_into_cache()[0] / "bpe-qwen"
    if (folder / "merges.txt").is_file():
        return folder
    from dq.render.qwen3_tokenizer import load_ranks, ranks_file, vocab_and_merges

    vocab, merges = vocab_and_merges(load_ranks(ranks_file()))
    tmp = Path(tempfile.mkdtemp(prefix=".bpe-qwen-", dir=folder.parent))
    try:
        (tmp / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        lines = "".join(f"{left} {right}\n" for left, right in merges)
        (tmp / "merges.txt").write_text(f"#version: 0.2\n{lines}", encoding="utf-8")
        try:
            tmp.rename(folder)
        except OSError:  # another process won the race: its copy is identical
            if not (folder / "merges.txt").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def available() -> bool:
    """bpe-qwen can be imported (it is loaded only when first used)."""
    import importlib.util

    return importlib.util.find_spec("bpe_qwen") is not None


class CountWorker:
    """bpe-qwen in a child process, so that its load (~14 s, holding the GIL) overlaps the first
    chunks, which this process counts with tiktoken meanwhile; counts are the same either way.

    The child is started with ``spawn`` (threads of Polars and tiktoken make ``fork`` unsafe) and
    is a daemon: it ends with dq. Any failure (load error, a child that died) turns the worker
    off and the caller counts with tiktoken: a worker problem can slow a run, never change it.
    """

    def __init__(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=serve, args=(child, str(tables_folder())), daemon=True)
        self._proc.start()
        child.close()
        self.state = "loading"
        self.counted = 0  # texts counted by the child (tests check the fast path really ran)

    def wait(self, timeout: float) -> bool:
        """Block until the child has loaded bpe-qwen or failed (tests; runs never wait)."""
        if self.state == "loading" and self._conn.poll(timeout):
            return self.ready()
        return self.state == "ready"

    def ready(self) -> bool:
        """The child has loaded bpe-qwen (never blocks)."""
        if self.state == "loading" and self._conn.poll():
            self.state = "ready" if self._receive() == "ready" else "failed"
        return self.state == "ready"

    def count(self, texts: list[str]) -> list[int] | None:
        """Counts of :func:`bpe_qwen_safe` texts; None when the worker failed (count them elsewhere)."""
        try:
            self._conn.send(texts)
            counts = self._receive()
        except (OSError, EOFError):
            counts = None
        if not isinstance(counts, list) or len(counts) != len(texts):
            self.state = "failed"
            return None
        self.counted += len(texts)
        return counts

    def _receive(self) -> Any:
        try:
            return self._conn.recv()
        except (OSError, EOFError):
            return None

    def close(self) -> None:
        try:
            self._conn.send(None)
        except OSError:
            pass
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.terminate()


def serve(conn: Any, folder: str) -> None:
    """The child: load bpe-qwen from ``folder``, then answer each list of texts with their counts."""
    try:
        from bpe_qwen import bpe_qwen

        tokenizer = bpe_qwen.QwenTokenizer(folder)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which falls back
        conn.send(f"failed: {type(exc).__name__}: {exc}")
        return
    conn.send("ready")
    while (texts := conn.recv()) is not None:
        conn.send([len(ids) for ids in tokenizer.encode_batch_parallel(texts)])


_workers: list[CountWorker] = []


def worker() -> CountWorker | None:
    """The process's count worker, started at the first call; None without bpe-qwen or after a failure."""
    if not available():
        return None
    if not _workers:
        import atexit

        _workers.append(CountWorker())
        atexit.register(_workers[0].close)
    return None if _workers[0].state == "failed" else _workers[0]
