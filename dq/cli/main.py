"""The ``dq`` command line: the root group, exit codes, and plugin commands loaded on first use."""

from __future__ import annotations

import errno
import os
import sys

import click

from dq.cli.benchmarks import benchmarks
from dq.cli.inspect import plugins, rules, stages
from dq.cli.render import render
from dq.cli.report import report
from dq.cli.run import run, validate
from dq.cli.runtime import runtime
from dq.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    DqError,
    internal_error_line,
    no_space_line,
)

EXIT_CODES = """\b
Exit codes (every command):
  0    pass
  1    a gate failed (outputs and reports are still written)
  2    usage, config or input error: one line naming file, line, field or TOML path
  3    internal error: one line and the path of a saved traceback; or the disk is full
  130  interrupted (Ctrl-C or SIGTERM); nothing partial is left behind
  141  the reader of dq's output went away (a closed pipe, as with `| head`)
"""


class PluginGroup(click.Group):
    """A group whose plugin commands are added by ``dq_register_commands`` on first lookup."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            runtime().pm.hook.dq_register_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load()
            command = super().get_command(ctx, cmd_name)
        return command


@click.group(cls=PluginGroup, epilog=EXIT_CODES)
@click.version_option(package_name="dq")
def cli() -> None:
    """dq: data quality and benchmark contamination for LLM fine-tuning datasets."""


for command in (run, validate, rules, plugins, stages, benchmarks, report, render):
    cli.add_command(command)


def _flushed() -> bool:
    """Flush stdout now; False when its reader has gone (the rest is thrown away)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return False
    return True


def main() -> None:
    """Console entry point: every outcome maps to one documented exit code."""
    try:
        code = cli.main(standalone_mode=False)
        sys.stdout.flush()  # a closed pipe shows here, not later at interpreter exit
    except DqError as exc:
        for line in exc.message.splitlines():
            click.echo(f"Error: {line}", err=True)
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:  # usage errors found by click itself
        exc.show()
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:  # `dq ... | head`: the reader left; as a shell reports SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    except SystemExit as exc:
        code = exc.code
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper") or not _flushed():  # the reader left
            sys.exit(EXIT_BROKEN_PIPE)
        if isinstance(code, int) and code >= 128 + 1:  # a signal turned into SystemExit (SIGTERM)
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        raise
    except OSError as exc:
        # A full disk is the machine's state, not a bug: say so, and where (no traceback file).
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        click.echo(f"Error: {no_space_line(exc)}" if full else internal_error_line(exc), err=True)
        sys.exit(EXIT_INTERNAL)
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback saved for the report
        click.echo(internal_error_line(exc), err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
