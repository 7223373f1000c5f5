"""Errors dq reports to users: one clear line, exit code 2 (usage, config or input)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import click

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2


class DqError(click.ClickException):
    """A usage, config, plugin or input error: printed as one line, exit code 2, no traceback."""

    exit_code = EXIT_USAGE

    def format_message(self) -> str:
        return self.message


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a close choice exists, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
