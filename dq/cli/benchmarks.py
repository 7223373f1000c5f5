"""``dq benchmarks``: the benchmarks known by name, where each resolves, and local copies of them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dq.errors import DqError


@click.group()
def benchmarks() -> None:
    """Benchmarks known by name (gsm8k, math, math500) and their local copies.

    A known name loads $DQ_BENCHMARK_DIR/<file> when DQ_BENCHMARK_DIR is set (a missing file is
    an error), else the dataset from the Hugging Face Hub. Make the local copies once, where
    online, with 'dq benchmarks pull gsm8k math math500 --to DIR'.
    """


@benchmarks.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per benchmark, in a list.")
def benchmarks_list(as_json: bool) -> None:
    """Known benchmarks: Hub dataset, question field, local file, and where each resolves now."""
    from dq.cli.inspect import _echo_table
    from dq.data.benchmarks import KNOWN, benchmark_dir, known_location

    rows = []
    for name, (hf, field, rel) in KNOWN.items():
        status, location = known_location(name)
        rows.append(
            {
                "name": name,
                "hub": f"hf:{hf}",
                "field": field,
                "file": rel,
                "status": status,
                "location": location if status != "hub" else f"hf:{location}",
                "resolves": f"{status}: {location if status != 'hub' else 'hf:' + location}",
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    _echo_table(rows, ["name", "field", "file", "resolves"])
    root = benchmark_dir()
    if root is None:
        click.echo("\nDQ_BENCHMARK_DIR is not set: known names load from the Hugging Face Hub.")
        return
    note = "" if root.is_dir() else " (no such folder)"
    click.echo(f"\nDQ_BENCHMARK_DIR={root}{note}: known names load from files under it, never the Hub.")
    missing = [row["name"] for row in rows if row["status"] == "missing"]
    if missing:
        click.echo(f"Make the missing files where online: dq benchmarks pull {' '.join(missing)} --to {root}")
    click.echo("Hub datasets (what pull downloads):")
    for row in rows:
        click.echo(f"  {row['name']}: {row['hub']}")


@benchmarks.command("pull")
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--to",
    "to_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write DIR/<name>/test.jsonl into: what DQ_BENCHMARK_DIR then points at.",
)
@click.option("--overwrite", is_flag=True, help="Replace files already there (else they are kept).")
def benchmarks_pull(names: tuple[str, ...], to_dir: Path, overwrite: bool) -> None:
    """Download known benchmarks from the Hub once and write them as JSONL under DIR.

    Each file keeps the dataset's own fields and is written whole (temp file, then rename).
    Offline, one line names every benchmark that needs the Hub (exit 2).
    """
    from dq.data.benchmarks import pull_benchmarks

    results, errors = pull_benchmarks(list(names), to_dir, overwrite)
    for row in results:
        if row["status"] == "pulled":
            click.echo(f"{row['name']}: {row['rows']} rows -> {row['path']}")
        else:
            click.echo(f"{row['name']}: kept {row['path']} (--overwrite replaces it)")
    if errors:
        raise DqError("\n".join(errors))
    click.echo(f"use: DQ_BENCHMARK_DIR={to_dir}")
