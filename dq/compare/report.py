"""``dq compare --out REPORT/``: the study's fig_01…fig_08 as it wrote them (SEED_CONTRACTS §7).

Each figure gets its own folder ``REPORT/<fig>/``: charts ``.png``, ``.grayscale.png``, ``.pdf``,
``.data.csv``, ``.md`` and ``.provenance.json``; tables ``.md``, ``.data.csv`` and
``.provenance.json``. CSVs come from ``csv.DictWriter`` (CRLF, the study's header verbatim). The
whole folder is built beside the target and renamed into place, so a reader never sees half a report.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dq.compare import markdown
from dq.compare.figures import BUILDERS, TABLES
from dq.compare.results import Study
from dq.compare.stats import DEFAULT_THRESHOLD, contract_mismatches, paired_test, verdict
from dq.compare.tables import disagreement, primary_table
from dq.errors import DqError

SOURCE_OF_TRUTH = (
    "If this figure or table disagrees with retained JSONL/JSON artifacts, retained artifacts win."
)
SCRIPT = "dq/compare/report.py"


def skip_reason(name: str, study: Study) -> str | None:
    """Why a figure cannot be drawn from these folders, or ``None``."""
    main = [t for t in study.train if not t.lr_selection]
    needs = {
        "fig_01_primary_comparison_table": (study.evals, "no GSM8K evaluation folders"),
        "fig_02_cost_efficiency_table": (study.evals and main, "needs evaluations and main training runs"),
        "fig_03_gsm8k_accuracy_chart": (study.evals, "no GSM8K evaluation folders"),
        "fig_05_validation_nll_diagnostic": (main, "no main training runs"),
        "fig_06_lr_selection": ([t for t in study.train if t.lr_selection], "no LR-selection runs"),
        "fig_08_throughput_probe": (study.probes, "no throughput-probe folders"),
    }
    if name in ("fig_04_paired_seed_slope", "fig_07_prediction_disagreement_table"):
        pair, rows = disagreement(study)
        return None if rows else "needs predictions.jsonl of two tuned conditions for the same seeds"
    present, why = needs[name]
    return None if present else why


def analyse(study: Study, threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Verdict, paired test, contract mismatches and the primary table: what --json prints."""
    pair, rows = disagreement(study)  # raises on unequal index sets before anything is written
    return {
        "table": primary_table(study) if study.evals else [],
        "verdict": verdict(study, threshold),
        "disagreement_pair": list(pair) if pair else None,
        "disagreement": rows,
        "paired_test": paired_test(study, pair) if rows else None,
        "contract_mismatches": contract_mismatches(study),
    }


def csv_bytes(header: list[str], rows: list[dict[str, str]]) -> bytes:
    """``csv.DictWriter``'s bytes: CRLF line endings, as the study's figure CSVs."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def file_record(path: Path, root: Path | None = None) -> dict[str, Any]:
    data = path.read_bytes()
    shown = path.relative_to(root) if root is not None else path
    return {"path": str(shown), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def git_state() -> tuple[str | None, bool | None]:
    """The working directory's commit and whether tracked files changed; ``None`` outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=20
        )
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                text=True, check=True, timeout=60)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None, None
    return sha.stdout.strip(), bool(status.stdout.strip())


def generated_at() -> str:
    """UTC now, or ``SOURCE_DATE_EPOCH`` when set (reproducible reports)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return when.isoformat()


def write_figure(name: str, study: Study, folder: Path, report: Path, meta: dict[str, Any]) -> None:
    """One figure's files under ``folder`` (a subfolder of the temporary report ``report``)."""
    from dq.compare.plots import CHARTS, save

    header, rows, inputs = BUILDERS[name](study)
    folder.mkdir()
    stem = folder / name
    data = stem.with_name(f"{name}.data.csv")
    data.write_bytes(csv_bytes(header, rows))
    is_table = name in TABLES
    md = markdown.figure_md(name, header, rows, is_table)
    if name == "fig_07_prediction_disagreement_table":
        pair, _ = disagreement(study)
        md += markdown.disagreement_examples(study, pair) if pair else ""
    stem.with_suffix(".md").write_text(md, encoding="utf-8")
    if is_table:
        shown = stem.with_suffix(".md")
    else:
        figure = CHARTS[name](rows, markdown.TITLES[name])
        shown = save(figure, stem, pdf=meta["pdf"])[0]
    provenance = {
        "command": meta["command"],
        "derived_data": file_record(data, report.parent),
        "fig_name": name,
        "figure": file_record(shown, report.parent),
        "generated_at_utc": meta["generated_at_utc"],
        "git_commit": meta["git_commit"],
        "git_dirty": meta["git_dirty"],
        "inputs": [file_record(p) for p in sorted(set(inputs))],
        "script": SCRIPT,
        "source_of_truth_rule": SOURCE_OF_TRUTH,
    }
    text = json.dumps(provenance, indent=2, sort_keys=True) + "\n"
    stem.with_name(f"{name}.provenance.json").write_text(text, encoding="utf-8")


def _relabel(tmp: Path, out: Path) -> None:
    """``derived_data``/``figure`` paths were recorded under the temporary name; give them the final one."""
    for prov in tmp.glob("*/*.provenance.json"):
        data = json.loads(prov.read_text(encoding="utf-8"))
        for key in ("derived_data", "figure"):
            data[key]["path"] = str(Path(out.name) / Path(data[key]["path"]).relative_to(tmp.name))
        prov.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_report(
    study: Study,
    out: Path,
    threshold: float = DEFAULT_THRESHOLD,
    overwrite: bool = False,
    pdf: bool = True,
    command: str | None = None,
) -> dict[str, Any]:
    """Write every figure that the folders allow into ``out`` (atomically); returns the analysis."""
    if out.exists() and not overwrite:
        raise DqError(f"{out}: already exists; pass --overwrite to replace it")
    data = analyse(study, threshold)
    commit, dirty = git_state()
    meta = {"command": command if command is not None else " ".join(sys.argv), "pdf": pdf,
            "generated_at_utc": generated_at(), "git_commit": commit, "git_dirty": dirty}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        data["figures"], data["skipped"] = [], {}
        for name in BUILDERS:
            why = skip_reason(name, study)
            if why:
                data["skipped"][name] = why
                continue
            write_figure(name, study, tmp / name, tmp, meta)
            data["figures"].append(name)
        if not pdf:
            data["notes"] = ["PDFs skipped (--no-pdf)"]
        (tmp / "README.md").write_text(markdown.summary_md(data), encoding="utf-8")
        (tmp / "report.json").write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        _relabel(tmp, out)
        _publish(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return data


def _publish(tmp: Path, out: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a report is as readable as other outputs
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
