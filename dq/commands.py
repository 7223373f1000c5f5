"""Built-in CLI commands contributed through the public ``dq_register_commands`` hook."""

from __future__ import annotations

from pathlib import Path

import click

from dq.hookspecs import hookimpl


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    _register_review(cli)
    _register_calibrate(cli)
    _register_scan(cli)


def _register_scan(cli: click.Group) -> None:
    @cli.command()
    @click.option("--rules", "rules_path", required=True, type=click.Path(path_type=Path))
    @click.option(
        "--input", "input_path", required=True, type=click.Path(path_type=Path), help="Parquet or JSONL."
    )
    @click.option(
        "--benchmark", "benchmarks", multiple=True, help="NAME=PATH[#FIELD], a known name, or NAME=hf:..."
    )
    @click.option("--column", default="problem", show_default=True, help="The problem text column.")
    @click.option(
        "--check", "only", multiple=True, help="Run only these checks (default: all in the rule set)."
    )
    @click.option("--batch-rows", default=500_000, show_default=True)
    @click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="Matches JSONL.")
    def scan(
        rules_path: Path,
        input_path: Path,
        benchmarks: tuple[str, ...],
        column: str,
        only: tuple[str, ...],
        batch_rows: int,
        out_path: Path,
    ) -> None:
        """Stream a file of any size through the rule set's contamination checks (no gate/split).

        Exit 1 when a check whose action is "fail" finds a match; matches go to --out as JSONL.
        """
        import json
        import sys

        from dq.benchmarks import resolve_benchmarks
        from dq.cli import runtime
        from dq.config import load_rule_set
        from dq.runner import check_config
        from dq.scan import scan as run_scan

        rt = runtime()
        rule_set = load_rule_set(rules_path)
        check_config(rule_set, rt.registry)
        loaded = resolve_benchmarks(rule_set.benchmarks, list(benchmarks), demo=False)
        bench = {name: frame for name, (frame, _) in loaded.items()}
        summary = run_scan(rule_set, rt.registry, input_path, bench, out_path, column, batch_rows, list(only))
        click.echo(json.dumps(summary, indent=2))
        sys.exit(1 if summary["status"] == "fail" else 0)


def _register_calibrate(cli: click.Group) -> None:
    @cli.command()
    @click.option("--rules", "rules_path", required=True, type=click.Path(path_type=Path))
    @click.option("--input", "input_spec", help="Clean data to plant into (default: the demo corpus).")
    @click.option(
        "--benchmark", "benchmarks", multiple=True, help="NAME=PATH[#FIELD], a known name, or NAME=hf:..."
    )
    @click.option("--column", "columns", multiple=True, help="Column mapping DQFIELD=INPUTCOLUMN.")
    @click.option("--per-kind", default=100, show_default=True, help="Planted rows per kind and benchmark.")
    @click.option("--seed", default=0, show_default=True)
    @click.option("--out", "out_path", type=click.Path(path_type=Path), help="Also write the result as JSON.")
    def calibrate(
        rules_path: Path,
        input_spec: str | None,
        benchmarks: tuple[str, ...],
        columns: tuple[str, ...],
        per_kind: int,
        seed: int,
        out_path: Path | None,
    ) -> None:
        """Measure each contamination check's recall on perturbed benchmark copies planted in your data.

        Kinds: verbatim, case/space/Unicode, numbers changed, word swap, clause reorder, added
        sentence. Also counts clean rows each check flags (false alarms on data believed clean).
        """
        import json

        from dq.benchmarks import resolve_benchmarks
        from dq.calibrate import calibrate as run_calibration
        from dq.calibrate import format_table
        from dq.cli import _parse_columns, runtime
        from dq.config import load_rule_set
        from dq.io import read_input
        from dq.runner import check_config

        rt = runtime()
        rule_set = load_rule_set(rules_path)
        check_config(rule_set, rt.registry)
        spec = input_spec or rule_set.input.path
        rows, _ = read_input(spec, {**rule_set.input.columns, **_parse_columns(columns)})
        loaded = resolve_benchmarks(rule_set.benchmarks, list(benchmarks), demo=spec is None)
        bench = {name: frame for name, (frame, _) in loaded.items()}
        clean = rows["problem"].unique(maintain_order=True)
        result = run_calibration(rule_set, rt.registry, clean, bench, per_kind, seed)
        click.echo(format_table(result))
        if out_path:
            out_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


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
        from dq.review import export_pack

        paths = export_pack(run_dir, to_dir or run_dir / "review", per_source, per_rule, seed)
        for path in paths:
            click.echo(str(path))

    @review.command("apply")
    @click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
    @click.argument("decisions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
    @click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
    def review_apply(run_dir: Path, decisions: Path, out_dir: Path) -> None:
        """Write a new dataset version with reviewers' keep/drop decisions applied."""
        from dq.review import apply_decisions

        summary = apply_decisions(run_dir, decisions, out_dir)
        click.echo(summary)
