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
    ANSWER_FIELDS,
    KNOWN,
    QUESTION_FIELDS,
    benchmark_dir,
    known_benchmark,
    known_location,
    parse_benchmark_arg,
)
from dq.data.reader import file_columns, iter_jsonl, read_file
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
    """Return (frame with ``benchmark_index``, ``question`` and, when the benchmark has one of
    :data:`ANSWER_FIELDS`, ``answer``) and a description for reports."""
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
    info: dict[str, Any] = {"name": spec.name, "source": label, "field": field, "rows": out.height}
    answer_field = next((f for f in ANSWER_FIELDS if f in columns and f != field), None)
    if answer_field is not None:
        source = hub_frame.get_column(answer_field) if hub_frame is not None else None
        answers = final_answers(_answer_column(label, answer_field, source), answer_field)
        if answers.len() != out.height:  # never pair an answer with another row's question
            raise DqError(
                f"benchmark '{spec.name}' ({label}): {answers.len()} answers for {out.height} items"
            )
        out = out.with_columns(answers)
        info["answer_field"] = answer_field
    return out, info


def _answer_column(label: str, field: str, hub_column: pl.Series | None) -> pl.Series:
    """The answer field as strings (numbers written as text; an item without one has null)."""
    if hub_column is not None:
        return hub_column.cast(pl.String, strict=False)
    path = Path(label)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        column = pl.read_parquet(path, columns=[field]).get_column(field)
    elif suffix == ".csv":
        column = pl.read_csv(path, columns=[field], infer_schema=False).get_column(field)
    else:  # JSONL: one value per object, in the order the questions were read
        values = (row.get(field) for _, row in iter_jsonl(path))
        column = pl.Series([None if v is None else str(v) for v in values], dtype=pl.String)
    return column.cast(pl.String, strict=False)


def final_answers(answers: pl.Series, field: str) -> pl.Series:
    r"""Each item's final answer: a MATH solution's last ``\boxed{}``, a GSM8K answer's ``#### x``."""
    from dq.text.vector import last_boxed

    if field == "solution":
        return last_boxed(answers).alias("answer")
    return answers.str.split("####").list.last().str.strip_chars().alias("answer")


def load_benchmarks(specs: dict[str, BenchmarkSpec]) -> dict[str, tuple[pl.DataFrame, dict[str, Any]]]:
    """Every benchmark of a plan, loaded: (frame, description) by name.

    Hub benchmarks load first, all together, after one reachability decision: offline, every one
    that cannot load is named in one error before any local file is read.
    """
    resolved = {name: resolve_benchmark(spec) for name, spec in specs.items()}
    hub = read_hub_benchmarks(resolved)
    return {name: load_benchmark(spec, hub.get(name)) for name, spec in resolved.items()}
