"""The HTML reports: the ``dq.html`` run reporter and the study page of ``dq compare``.

Registered through the public ``dq_register_reporters`` hook (plugin module ``dq_reports.html``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dq.api.hookspecs import hookimpl

if TYPE_CHECKING:
    from dq.plugins import Registry


@hookimpl
def dq_register_reporters(register: Callable[[type], None]) -> None:
    from dq_reports.html.reporter import HtmlReport

    register(HtmlReport)


def write_html_report(out_dir: Path, registry: Registry | None = None) -> Path:
    """Write ``out_dir/reports/report.html`` for a finished run folder (see :mod:`.reporter`)."""
    from dq_reports.html.reporter import write_html_report as write

    return write(out_dir, registry)
