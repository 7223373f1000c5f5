"""Built-in report writers (importable as ``dq_reports``), registered through the public hooks."""

from __future__ import annotations

from collections.abc import Callable

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_reporters(register: Callable[[type], None]) -> None:
    from dq_reports.contamination import ContaminationJson, ContaminationMarkdown, ContaminationMatches
    from dq_reports.summary import SummaryMarkdown

    for reporter in (ContaminationJson, ContaminationMatches, ContaminationMarkdown, SummaryMarkdown):
        register(reporter)
