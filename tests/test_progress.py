"""Row progress: rows, rate and ETA on a terminal; nothing at all when stderr is not one."""

from __future__ import annotations

import pytest

from dq.api.progress import RowProgress


def test_line_shows_rows_rate_and_eta() -> None:
    progress = RowProgress("scan x.parquet", total=1_000_000, enabled=True)
    progress.start -= 10  # ten seconds in
    assert progress.line(250_000) == "scan x.parquet  250,000 / 1,000,000 rows · 25,000 rows/s · ETA 30 s"
    assert "ETA" not in RowProgress("scan x.jsonl", enabled=True).line(10)


def test_silent_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    progress = RowProgress("scan", total=10)  # stderr is captured here: not a terminal
    progress.update(5, force=True)
    progress.close(10)
    assert capsys.readouterr().err == ""


def test_a_terminal_gets_one_redrawn_line(capsys: pytest.CaptureFixture[str]) -> None:
    progress = RowProgress("scan", total=10, enabled=True)
    progress.update(5, force=True)
    progress.close(10)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "10 / 10 rows" in err and "\r" in err
