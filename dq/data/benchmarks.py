"""Benchmarks to check contamination against: local JSONL/Parquet files or Hugging Face datasets.

Names and resolution live in :mod:`dq.data.benchmark_names`, the Hub in
:mod:`dq.data.benchmark_hub`; both are re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from dq.api.schema import BenchmarkSpec
from dq.data.benchmark_hub import check_hub, pull_benchmarks, read_hub_benchmarks
from dq.data.benchmark_names import (
    KNOWN,
    QUESTION_FIELDS,
    benchmark_dir,
    known_benchmark,
    known_location,
    parse_benchmark_arg,
)
from dq.data.reader import file_columns, read_file
from dq.errors import DqError, did_you_mean

__all__ = [
    "KNOWN",
    "QUESTION_FIELDS",
    "benchmark_dir",
    "check_hub",
    "known_benchmark",
    "known_location",
    "parse_benchmark_arg",
    "pull_benchmarks",
]


DEMO_SOURCE = "demo:"


DEMO_BENCHMARK = "gsm8k-demo"


def demo_benchmark_spec() -> BenchmarkSpec:
    """The demo corpus's own small benchmark (offline): what a demo run gates against."""
    return BenchmarkSpec(name=DEMO_BENCHMARK, path=DEMO_SOURCE, field="question")


def unknown_benchmark_message(name: str) -> str:
    return (
        f"benchmark '{name}': give a path or hf spec, or use a known name "
        f"({', '.join(KNOWN)}){did_you_mean(name, KNOWN)}"
    )


def resolve_benchmark(spec: BenchmarkSpec) -> BenchmarkSpec:
    """A spec with a path or Hub source; a bare known name resolves, any other bare name is an error."""
    if spec.path or spec.hf:
        return spec
    if spec.name not in KNOWN:
        raise DqError(unknown_benchmark_message(spec.name))
    return known_benchmark(spec.name)


def load_benchmark(
    spec: BenchmarkSpec, hub_frame: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Return (frame with ``benchmark_index``, ``question``) and a description for reports."""
    spec = resolve_benchmark(spec)
    if spec.path == DEMO_SOURCE:
        from dq.data.demo import demo_benchmark

        frame = demo_benchmark()
        return frame, {"name": spec.name, "source": DEMO_SOURCE, "field": "question", "rows": frame.height}
    if spec.path:
        path = Path(spec.path)
        if not path.is_file():
            raise DqError(f"{path}: benchmark file not found")
        columns = file_columns(path)
    else:
        if hub_frame is None:
            hub_frame = read_hub_benchmarks({spec.name: spec})[spec.name]
        columns = hub_frame.columns
    field = spec.field or next((f for f in QUESTION_FIELDS if f in columns), "")
    label = spec.path or f"hf:{spec.hf}"
    if field not in columns:
        hint = did_you_mean(spec.field, columns) if spec.field else ""
        raise DqError(
            f"benchmark '{spec.name}' ({label}): no field '{spec.field or '/'.join(QUESTION_FIELDS)}'"
            f"{hint}; fields: {', '.join(columns)}; choose one with NAME=PATH#FIELD"
        )
    if hub_frame is None:
        questions = read_file(Path(label), {"question": field}, ("question",))
    else:
        if hub_frame.schema[field] != pl.String:
            raise DqError(f"benchmark '{spec.name}' ({label}): field '{field}' must hold strings")
        nulls = hub_frame.get_column(field).is_null()
        if nulls.any():
            raise DqError(
                f"benchmark '{spec.name}' ({label}): row {int(nulls.arg_true()[0])}: '{field}' is null"
            )
        questions = hub_frame.select(pl.col(field).alias("question"))
    if questions.height == 0:  # a check against no item would pass everything
        raise DqError(f"benchmark '{spec.name}' ({label}): no items")
    out = questions.with_row_index("benchmark_index")
    info = {"name": spec.name, "source": label, "field": field, "rows": out.height}
    return out, info


def load_benchmarks(specs: dict[str, BenchmarkSpec]) -> dict[str, tuple[pl.DataFrame, dict[str, Any]]]:
    """Every benchmark of a plan, loaded: (frame, description) by name.

    Hub benchmarks load first, all together, after one reachability decision: offline, every one
    that cannot load is named in one error before any local file is read.
    """
    resolved = {name: resolve_benchmark(spec) for name, spec in specs.items()}
    hub = read_hub_benchmarks(resolved)
    return {name: load_benchmark(spec, hub.get(name)) for name, spec in resolved.items()}
