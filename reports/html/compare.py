"""``dq compare RESULT_DIRS... [--html OUT.html] [--json]``, contributed through ``dq_register_commands``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from dq.api.hookspecs import hookimpl
from dq.errors import DqError


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    cli.add_command(compare)


def study_data(dirs: list[Path]) -> dict[str, Any]:
    """Everything the study page and ``--json`` show, from the result folders under ``dirs``."""
    from dq.compare.results import read_study, result_folders
    from dq.compare.tables import best_checkpoints, disagreement, lr_points, nll_curves, primary_table

    folders = result_folders(dirs)
    study = read_study(folders)
    if not study.evals and not study.train:
        raise DqError("no evaluation or training result folders found")
    pair, rows = disagreement(study)
    return {
        "result_folders": len(folders),
        "table": primary_table(study) if study.evals else [],
        "disagreement_pair": list(pair) if pair else None,
        "disagreement": rows,
        "nll_curves": nll_curves(study),
        "best_checkpoints": best_checkpoints(study),
        "lr_selection": lr_points(study),
    }


def write_study_page(data: dict[str, Any], out: Path) -> None:
    """Render the study page and write it atomically."""
    from dq_reports.html.study import render_study as render
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is as readable as other outputs
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(render(data))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command()
@click.argument(
    "result_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False)
)
@click.option(
    "--html", "html_out", type=click.Path(path_type=Path, dir_okay=False), help="Write the study page here."
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison table (fig_01) as JSON.")
def compare(result_dirs: tuple[Path, ...], html_out: Path | None, as_json: bool) -> None:
    """Compare a study's conditions from its result folders (evaluations, training and LR-selection runs).

    Each RESULT_DIR is a result folder (with summary.json) or a folder of them. Prints the
    accuracy table per condition (seeds, mean/min/max, delta vs baseline in points, extraction
    failures); --html writes the study page (accuracy with seed points, per-seed disagreement,
    validation NLL by step, LR selection).

    Exit codes: 0 done; 2 a folder is missing or not in the study's schema.
    """
    data = study_data(list(result_dirs))
    if html_out is not None:
        write_study_page(data, html_out)
    if as_json:
        keys = ("condition", "seeds", "mean_accuracy", "min_accuracy", "max_accuracy", "delta_vs_baseline_pp",
                "extraction_failures", "eval_tokens", "checkpoints")  # fmt: skip
        click.echo(json.dumps([{k: r[k] for k in keys} for r in data["table"]], indent=2))
        return
    for r in data["table"]:
        delta = f"{r['delta_vs_baseline_pp']:+.3f} pp" if r["delta_vs_baseline_pp"] is not None else "n/a"
        click.echo(
            f"{r['condition']:<16} seeds {r['seeds']}  mean {r['mean_accuracy']:.4f} "
            f"(min {r['min_accuracy']:.4f}, max {r['max_accuracy']:.4f})  {delta}  "
            f"failures {r['extraction_failures']}"
        )
    if html_out is not None:
        click.echo(f"wrote {html_out}")
