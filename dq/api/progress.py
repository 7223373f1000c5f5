"""Row progress on a terminal: rows done, rate and ETA on one line; silent when piped or quiet."""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class RowProgress:
    """``update(done)`` redraws ``LABEL  done / total rows · rate · ETA`` at most a few times a second."""

    def __init__(self, label: str, total: int | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self._last = 0.0

    def line(self, done: int) -> str:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        rate = done / elapsed
        parts = [f"{self.label}  {done:,}" + (f" / {self.total:,}" if self.total else "") + " rows"]
        parts.append(f"{rate:,.0f} rows/s")
        if self.total and rate > 0 and done < self.total:
            parts.append(f"ETA {_duration((self.total - done) / rate)}")
        return " · ".join(parts)

    def update(self, done: int, force: bool = False, total: int | None = None) -> None:
        self.total = total if total is not None else self.total
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < 0.25):
            return
        self._last = now
        print(f"\r\x1b[K{self.line(done)}", end="", file=sys.stderr, flush=True)

    def close(self, done: int) -> None:
        if self.enabled:
            self.update(done, force=True)
            print(file=sys.stderr, flush=True)
