"""Helpers for running the CLI in tests (real click runner, real files)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from dq.cli.main import cli


def dq(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """Run ``dq ARGS`` in-process and return the click result."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
