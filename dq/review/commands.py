"""The ``dq review`` commands, contributed through the public ``dq_register_commands`` hook."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dq.api.hookspecs import hookimpl
from dq.cli.options import (
    benchmark_option,
    out_option,
    overwrite_option,
    quiet_option,
    recorded_rules_option,
)


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    _register_review(cli)


def _register_review(cli: click.Group) -> None:
    @cli.group()
    def review() -> None:
        """Review packs: export samples for people, apply their keep/drop decisions."""

    @review.command("export")
    @click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
    @click.option(
        "--per-source",
        default=50,
        show_default=True,
        type=click.IntRange(min=0),
        help="Accepted rows per source.",
    )
    @click.option(
        "--per-rule",
        default=20,
        show_default=True,
        type=click.IntRange(min=0),
        help="Flagged rows per reject rule.",
    )
    @click.option("--seed", default=20260420, show_default=True)
    @click.option("--to", "to_dir", type=click.Path(path_type=Path), help="Default: RUN_DIR/review.")
    def review_export(run_dir: Path, per_source: int, per_rule: int, seed: int, to_dir: Path | None) -> None:
        """Sample flagged rows per rule and accepted rows per source into JSONL + Markdown.

        An existing decisions_template.jsonl that differs from this pack's (a reviewer's
        edits) is never overwritten: the export stops with exit code 2.
        """
        from dq.review.pack import export_pack

        paths = export_pack(run_dir, to_dir or run_dir / "review", per_source, per_rule, seed)
        for path in paths:
            click.echo(str(path))

    @review.command("apply")
    @click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
    @click.argument("decisions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
    @out_option(what="new version")
    @recorded_rules_option("the parent's")
    @benchmark_option
    @overwrite_option
    @quiet_option
    def review_apply(
        run_dir: Path,
        decisions: Path,
        out_dir: Path,
        rules_path: Path | None,
        benchmarks: tuple[str, ...],
        overwrite: bool,
        quiet: bool,
    ) -> None:
        """Write a new dataset version with reviewers' keep/drop decisions applied.

        Dropped rows become rejected rows (reason review_drop); reinstated rows join the split
        that holds their problem. The gate re-runs on every row and every file of a run is
        written: counts, reasons, gates, status and reports are the new version's.

        Exit codes: 0 every gate passed; 1 a gate failed (the version is still written);
        2 usage, config or input error (nothing written).
        """
        from dq.cli.runtime import runtime
        from dq.review.version import apply_decisions, summary

        state = apply_decisions(
            run_dir,
            decisions,
            out_dir,
            runtime().registry,
            rules_path,
            benchmarks,
            overwrite,
            quiet or not sys.stderr.isatty(),
        )
        click.echo(summary(state))
        sys.exit(1 if state.status == "fail" else 0)
