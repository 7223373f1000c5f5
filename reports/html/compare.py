"""``dq compare RESULT_DIRS... [--out REPORT/] [--html OUT.html] [--json]``, via ``dq_register_commands``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dq.api.hookspecs import hookimpl
from dq.errors import DqError

if TYPE_CHECKING:
    from dq.compare.results import Study

TABLE_KEYS = ("condition", "seeds", "mean_accuracy", "min_accuracy", "max_accuracy", "delta_vs_baseline_pp",
              "extraction_failures", "eval_tokens", "checkpoints")  # fmt: skip


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    cli.add_command(compare)


def load_study(dirs: list[Path]) -> Study:
    """The records of every result folder under ``dirs``; none at all is an error."""
    from dq.compare.results import read_study, result_folders

    study = read_study(result_folders(dirs))
    if not study.evals and not study.train and not study.probes:
        raise DqError("no evaluation, training or probe result folders found")
    return study


def study_data(dirs: list[Path], threshold: float = 0.01, study: Study | None = None) -> dict[str, Any]:
    """Everything the study page and ``--json`` show, from the result folders under ``dirs``."""
    from dq.compare.report import analyse
    from dq.compare.tables import best_checkpoints, lr_points, nll_curves

    study = study or load_study(dirs)
    return {
        "result_folders": len(study.evals) + len(study.train) + len(study.probes),
        **analyse(study, threshold),
        "nll_curves": nll_curves(study),
        "best_checkpoints": best_checkpoints(study),
        "lr_selection": lr_points(study),
    }


def write_study_page(data: dict[str, Any], out: Path) -> None:
    """Render the study page and write it atomically."""
    from dq_reports.html.reporter import atomic_write
    from dq_reports.html.study import render_study as render

    atomic_write(out, render(data).encode("utf-8"))


@click.command()
@click.argument(
    "result_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False)
)
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), help="Write fig_01…fig_08 into this folder."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
@click.option("--no-pdf", is_flag=True, help="Charts without their PDF copy.")
@click.option(
    "--threshold",
    type=click.FloatRange(min=0),
    default=0.01,
    show_default=True,
    help="Pre-registered accuracy gap for a winner (0.01 = 1 point).",
)
@click.option(
    "--html", "html_out", type=click.Path(path_type=Path, dir_okay=False), help="Write the study page here."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print table, verdict, paired test and warnings as JSON."
)
def compare(
    result_dirs: tuple[Path, ...],
    out_dir: Path | None,
    overwrite: bool,
    no_pdf: bool,
    threshold: float,
    html_out: Path | None,
    as_json: bool,
) -> None:
    """Compare a study's conditions from its result folders (evaluations, training, LR-selection, probes).

    Each RESULT_DIR is a result folder (with summary.json) or a folder of them. Prints the
    accuracy table per condition (seeds, mean/min/max, delta vs baseline in points, extraction
    failures), the pre-registered verdict (winner only if the best mean beats the runner-up by
    --threshold), a paired test (McNemar, paired bootstrap; diagnostic only) and any contract-hash
    mismatch between inputs. --out writes the study's fig_01…fig_08 (CSV, PNG, Markdown,
    provenance); --html writes the study page.

    Exit codes: 0 done; 2 a folder is missing or not in the study's schema, predictions of a seed
    cover different benchmark_index sets, or --out exists without --overwrite.
    """
    study = load_study(list(result_dirs))
    data = study_data([], threshold, study)
    if out_dir is not None:
        from dq.compare.report import write_report

        written = write_report(study, out_dir, threshold, overwrite=overwrite, pdf=not no_pdf)
        data.update(figures=written["figures"], skipped=written["skipped"])
    if html_out is not None:
        write_study_page(data, html_out)
    if as_json:
        keys = ("verdict", "paired_test", "contract_mismatches", "disagreement_pair", "disagreement")
        out = {"table": [{k: r[k] for k in TABLE_KEYS} for r in data["table"]], **{k: data[k] for k in keys}}
        if out_dir is not None:
            out.update(figures=data["figures"], skipped=data["skipped"])
        click.echo(json.dumps(out, indent=2))
        return
    echo_text(data, out_dir, html_out)


def echo_text(data: dict[str, Any], out_dir: Path | None, html_out: Path | None) -> None:
    """The plain-text summary: contract warnings first, the table, the verdict, the paired test."""
    for w in data["contract_mismatches"]:
        values = "; ".join(f"{v[:12]}… ({len(runs)} runs)" for v, runs in w["values"].items())
        click.echo(f"WARNING: inputs were produced under different contracts: {w['key']} differs: {values}")
    for r in data["table"]:
        delta = f"{r['delta_vs_baseline_pp']:+.3f} pp" if r["delta_vs_baseline_pp"] is not None else "n/a"
        click.echo(
            f"{r['condition']:<16} seeds {r['seeds']}  mean {r['mean_accuracy']:.4f} "
            f"(min {r['min_accuracy']:.4f}, max {r['max_accuracy']:.4f})  {delta}  "
            f"failures {r['extraction_failures']}"
        )
    v = data["verdict"]
    click.echo(f"verdict: {v['verdict']} ({v['reason']})")
    test = data.get("paired_test")
    if test:
        m, bs = test["mcnemar"], test["bootstrap"]
        lo, hi = (x * 100 for x in bs["ci95"])
        click.echo(f"paired test: McNemar p = {m['p_value']:.4f} ({m['first_only']} vs {m['second_only']}); "
                   f"bootstrap {bs['mean_difference'] * 100:+.3f} pp [{lo:+.3f}, {hi:+.3f}]")  # fmt: skip
        click.echo(f"caveat: {test['caveat']}")
    if out_dir is not None:
        click.echo(
            f"wrote {out_dir} ({len(data['figures'])} figures; skipped: {', '.join(data['skipped']) or 'none'})"
        )
    if html_out is not None:
        click.echo(f"wrote {html_out}")
