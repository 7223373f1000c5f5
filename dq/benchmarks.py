"""Benchmarks to check contamination against: local JSONL/Parquet files or Hugging Face datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from dq.config import BenchmarkSpec
from dq.errors import DqError, did_you_mean

#: Fields tried, in order, when a benchmark names no field.
QUESTION_FIELDS = ("question", "problem", "input", "Question", "Problem")

#: Benchmarks known by name: (Hugging Face spec, field, path under DQ_BENCHMARK_DIR).
KNOWN = {
    "gsm8k": ("openai/gsm8k:main:test", "question", "gsm8k/test.jsonl"),
    "math": (
        "EleutherAI/hendrycks_math:algebra+counting_and_probability+geometry+intermediate_algebra"
        "+number_theory+prealgebra+precalculus:test",
        "problem",
        "math/test.jsonl",
    ),
    "math500": ("HuggingFaceH4/MATH-500:test", "problem", "math500/test.jsonl"),
}


def known_benchmark(name: str) -> BenchmarkSpec:
    """A named benchmark: the local copy under ``$DQ_BENCHMARK_DIR`` if there, else the Hub."""
    import os

    hf, field, rel = KNOWN[name]
    root = os.environ.get("DQ_BENCHMARK_DIR")
    if root and (Path(root) / rel).is_file():
        return BenchmarkSpec(name=name, path=str(Path(root) / rel), field=field)
    return BenchmarkSpec(name=name, hf=hf, field=field)


def parse_benchmark_arg(arg: str) -> BenchmarkSpec:
    """``NAME=PATH[#FIELD]``, ``NAME=hf:DATASET[:CONFIG]:SPLIT[#FIELD]`` or a bare ``PATH``."""
    name, sep, spec = arg.partition("=")
    if not sep and arg in KNOWN and not Path(arg).exists():
        return known_benchmark(arg)
    if not sep:
        name, spec = Path(arg.split("#")[0]).stem, arg
    spec, _, fld = spec.partition("#")
    if not name or not spec:
        raise DqError(f"--benchmark '{arg}': use NAME=PATH[#FIELD] or NAME=hf:DATASET:SPLIT")
    if not spec.startswith("hf:") and _looks_like_hub_name(spec):
        name = name if sep else spec.split(":")[0].rsplit("/", 1)[-1]
        spec = "hf:" + spec
    if spec.startswith("hf:"):
        return BenchmarkSpec(name=name, hf=spec.removeprefix("hf:"), field=fld)
    return BenchmarkSpec(name=name, path=spec, field=fld or "")


def _looks_like_hub_name(spec: str) -> bool:
    """``owner/name:split`` or ``owner/name:config:split`` that is not a local file."""
    import re

    return not Path(spec).exists() and re.fullmatch(r"[\w.-]+/[\w.-]+(:[\w.+-]+){1,2}", spec) is not None


def _read_local(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise DqError(f"{path}: benchmark file not found")
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
        return pl.read_ndjson(path, infer_schema_length=None)
    except pl.exceptions.PolarsError as exc:
        raise DqError(f"{path}: cannot read benchmark: {str(exc).splitlines()[0]}") from None


def _read_hf(spec: str) -> pl.DataFrame:
    from dq.io import parse_hf_spec, quiet_hub_logs

    name, config, split = parse_hf_spec(spec)
    quiet_hub_logs()
    try:
        import datasets
        import pyarrow as pa

        # CONFIG may list several configs joined by "+" (MATH ships one per subject).
        configs = config.split("+") if config else [None]
        table = pa.concat_tables([datasets.load_dataset(name, c, split=split).data.table for c in configs])
    except ImportError:
        raise DqError("hf: benchmarks need the 'datasets' package: pip install 'dq[hf]'") from None
    except Exception as exc:  # noqa: BLE001 - hub/network errors become one line
        raise DqError(
            f"benchmark hf:{spec}: cannot load ({type(exc).__name__}); offline? pass a local "
            f"copy with --benchmark NAME=PATH"
        ) from None
    return pl.from_arrow(table)  # type: ignore[return-value]


def load_benchmark(spec: BenchmarkSpec) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Return (frame with ``benchmark_index``, ``question``) and a description for reports."""
    if not spec.path and not spec.hf:
        if spec.name not in KNOWN:
            raise DqError(
                f"benchmark '{spec.name}': give a path or hf spec, or use a known name "
                f"({', '.join(KNOWN)}){did_you_mean(spec.name, KNOWN)}"
            )
        spec = known_benchmark(spec.name)
    frame = _read_local(Path(spec.path)) if spec.path else _read_hf(spec.hf or "")
    field = spec.field or next((f for f in QUESTION_FIELDS if f in frame.columns), "")
    label = spec.path or f"hf:{spec.hf}"
    if field not in frame.columns:
        hint = did_you_mean(spec.field, frame.columns) if spec.field else ""
        raise DqError(
            f"benchmark '{spec.name}' ({label}): no field '{spec.field or '/'.join(QUESTION_FIELDS)}'"
            f"{hint}; fields: {', '.join(frame.columns)}; choose one with NAME=PATH#FIELD"
        )
    if frame.schema[field] != pl.String:
        raise DqError(f"benchmark '{spec.name}' ({label}): field '{field}' must hold strings")
    out = frame.select(pl.col(field).fill_null("").alias("question")).with_row_index("benchmark_index")
    info = {"name": spec.name, "source": label, "field": field, "rows": out.height}
    return out, info


def resolve_benchmarks(
    declared: list[BenchmarkSpec], cli_args: list[str], demo: bool
) -> dict[str, tuple[pl.DataFrame, dict[str, Any]]]:
    """The run's benchmarks: the rule set's, replaced or extended by ``--benchmark``.

    A demo run without ``--benchmark`` uses the demo benchmark only (it is offline).
    """
    out: dict[str, tuple[pl.DataFrame, dict[str, Any]]] = {}
    if demo and not cli_args:
        from dq.demo import demo_benchmark

        frame = demo_benchmark()
        out["gsm8k-demo"] = (
            frame,
            {"name": "gsm8k-demo", "source": "demo:", "field": "question", "rows": frame.height},
        )
        return out
    specs = {b.name: b for b in declared}
    for spec in (parse_benchmark_arg(a) for a in cli_args):
        specs[spec.name] = spec
    for spec in specs.values():
        out[spec.name] = load_benchmark(spec)
    return out
