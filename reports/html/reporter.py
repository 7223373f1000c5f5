"""The ``dq.html`` reporter (reports/report.html) and :func:`write_html_report` for a finished folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from dq.api.run import Reporter, RunState

if TYPE_CHECKING:
    from dq.plugins import Registry

FILENAME = "report.html"


def render_run(state: RunState) -> str:
    """The run report of a finished state as one self-contained HTML page."""
    from dq_reports.html.contamination import contamination_section
    from dq_reports.html.funnel import funnel_section, gates_section, split_section
    from dq_reports.html.page import esc, page, status
    from dq_reports.html.rejects import examples_section, rejects_section
    from dq_reports.html.tokens import calibration_section, tokens_section
    from dq_reports.html.view import from_state

    view = from_state(state)
    sections = [
        funnel_section(view),
        rejects_section(view),
        examples_section(view),
        split_section(view),
        gates_section(view),
        contamination_section(view),
        tokens_section(view.tokens),
        calibration_section(view.calibration),
    ]
    nav = [
        ("funnel", "Funnel"),
        ("rejects", "Rejects"),
        ("examples", "Examples"),
        ("split", "Split"),
        ("gates", "Gates"),
        ("contamination", "Contamination"),
        ("tokens", "Tokens"),
    ]
    if view.calibration:
        nav.append(("calibration", "Calibration"))
    meta = f"status {status(view.status)} · input <code>{esc(view.input_path)}</code>"
    return page(view.title, meta, nav, sections)


class HtmlReport(Reporter):
    """reports/report.html: funnel, rejects with examples, split, contamination pairs, tokens, for people.

    One self-contained page (inline CSS and SVG charts, no script, nothing fetched). Rows are
    shown as bounded samples, so the page stays small on big runs.
    """

    name = "dq.html"
    filename = FILENAME

    def write(self, state: RunState) -> bytes:
        return render_run(state).encode("utf-8")


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is as readable as other outputs
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_html_report(out_dir: Path, registry: Registry | None = None) -> Path:
    """Write ``out_dir/reports/report.html`` for a finished run folder and return its path.

    The folder is reloaded as ``dq report`` does (recorded rule set, gate re-run on its rows);
    nothing else in the folder changes, and the manifest does not list the page (a derived view:
    ``dq report`` with the ``dq.html`` reporter in the plan records it like any report).
    Raises :class:`~dq.errors.DqError` on a folder that is not a complete run.
    """
    from dq.pipeline.reload import plan_for, read_manifest, reload_state, run_stages

    if registry is None:
        from dq.plugins import build_registry, make_plugin_manager

        pm, infos, _errors = make_plugin_manager()
        registry = build_registry(pm, infos)
    manifest = read_manifest(out_dir)
    plan = plan_for(out_dir, manifest, registry)
    state = reload_state(out_dir, plan, manifest, quiet=True)
    run_stages(state, [s for s in plan.stages if "matches" in s.provides])
    path = out_dir / "reports" / FILENAME
    atomic_write(path, HtmlReport().write(state))
    return path
