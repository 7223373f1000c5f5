"""Errors dq reports to users: one clear line, exit code 2 (usage, config or input)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

import click
from pydantic import ValidationError

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class DqError(click.ClickException):
    """A usage, config, plugin or input error: printed as one line, exit code 2, no traceback."""

    exit_code = EXIT_USAGE

    def format_message(self) -> str:
        return self.message


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a close choice exists, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def toml_path(loc: tuple[object, ...]) -> str:
    """A pydantic error location as a TOML path: ``rules[3].phrases`` (params/options hidden)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("params", "options"):
            out += ("." if out else "") + str(part)
    return out


def validation_lines(
    origin: str,
    table: str,
    exc: ValidationError,
    known_keys: Callable[[tuple[object, ...]], Iterable[str]] = lambda loc: (),
    context: str = "",
    label: str = "",
) -> list[str]:
    """Every error of a pydantic validation, one line each: ``FILE: TABLE.KEY: message``.

    ``origin`` is the file, ``table`` the TOML path of the table validated (empty for the whole
    file); ``known_keys(loc)`` gives the keys valid at ``loc`` (for "did you mean");
    ``label`` follows the path and ``context`` the message. This is dq's one formatter of
    config errors.
    """
    lines = []
    for err in exc.errors():
        path = toml_path(tuple(err["loc"]))
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1])
            message = f"unknown key{did_you_mean(key, known_keys(tuple(err['loc'][:-1])))}"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
        where = ".".join(p for p in (table, path) if p).replace(".[", "[")
        lines.append(
            f"{origin}: {where}{label}: {message}{context}" if where else f"{origin}: {message}{context}"
        )
    return lines


def internal_error_line(exc: BaseException) -> str:
    """One line for a bug: what happened and where the full traceback was saved."""
    import tempfile
    import traceback
    from pathlib import Path

    text = "".join(traceback.format_exception(exc))
    fd, name = tempfile.mkstemp(prefix="dq-traceback-", suffix=".txt")
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return (
        f"Internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
        f"(a bug in dq or a plugin; traceback saved to {Path(name)}; please report it with that file)"
    )


def no_space_line(exc: OSError) -> str:
    """One line for a full disk (or quota): the file being written, and what a run needs."""
    where = f" while writing {exc.filename}" if exc.filename else ""
    return (
        f"no space left on the device{where}. A run needs room for its outputs beside --out, "
        "and a streamed run about as much again for its rows (docs/scale.md)."
    )
