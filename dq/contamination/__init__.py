"""Benchmark contamination: shingles, MinHash LSH, verification, every check, leakage, scan, calibration.

The checks register through the public ``dq_register_contamination_checks`` hook like any
plugin's; their modules import the numba kernels (and torch, for ``dq.semantic``) only when a
check runs.
"""

from __future__ import annotations

from collections.abc import Callable

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_contamination_checks(register: Callable[[type], None]) -> None:
    from dq.contamination.exact import ExactCheck
    from dq.contamination.near import MinHashCheck, NgramCheck, TemplateCheck
    from dq.contamination.semantic import SemanticCheck

    for check in (ExactCheck, MinHashCheck, NgramCheck, TemplateCheck, SemanticCheck):
        register(check)
