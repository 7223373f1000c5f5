"""The ``dq review`` commands, contributed through the public ``dq_register_commands`` hook."""

from __future__ import annotations

from pathlib import Path

import click

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    _register_review(cli)


def _register_review(cli: click.Group) -> None:
    @cli.group()
    def review() -> None:
        """Review packs: export samples for people, apply their keep/drop decisions."""

    @review.command("export")
    @click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
    @click.option("--per-source", default=50, show_default=True, help="Accepted rows per source.")
    @click.option("--per-rule", default=20, show_default=True, help="Flagged rows per reject rule.")
    @click.option("--seed", default=20260420, show_default=True)
    @click.option("--to", "to_dir", type=click.Path(path_type=Path), help="Default: RUN_DIR/review.")
    def review_export(run_dir: Path, per_source: int, per_rule: int, seed: int, to_dir: Path | None) -> None:
        """Sample flagged rows per rule and accepted rows per source into JSONL + Markdown."""
        from dq.review.pack import export_pack

        paths = export_pack(run_dir, to_dir or run_dir / "review", per_source, per_rule, seed)
        for path in paths:
            click.echo(str(path))

    @review.command("apply")
    @click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
    @click.argument("decisions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
    @click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
    def review_apply(run_dir: Path, decisions: Path, out_dir: Path) -> None:
        """Write a new dataset version with reviewers' keep/drop decisions applied."""
        from dq.review.pack import apply_decisions

        summary = apply_decisions(run_dir, decisions, out_dir)
        click.echo(summary)
