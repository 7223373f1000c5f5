"""Benchmarks to check contamination against: local JSONL/Parquet files or Hugging Face datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from dq.api.schema import BenchmarkSpec
from dq.data.reader import file_columns, read_file
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


def _columns_of(spec: BenchmarkSpec) -> tuple[list[str], pl.DataFrame | None]:
    """A benchmark's column names (and, from the Hub, its whole table)."""
    if spec.path:
        path = Path(spec.path)
        if not path.is_file():
            raise DqError(f"{path}: benchmark file not found")
        return file_columns(path), None
    frame = _read_hf(spec.hf or "")
    return frame.columns, frame


def _read_hf(spec: str) -> pl.DataFrame:
    from dq.data.hub import parse_hf_spec, quiet_hub_logs

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


DEMO_SOURCE = "demo:"


def demo_benchmark_spec() -> BenchmarkSpec:
    """The demo corpus's own small benchmark (offline): what a demo run gates against."""
    return BenchmarkSpec(name="gsm8k-demo", path=DEMO_SOURCE, field="question")


def resolve_benchmark(spec: BenchmarkSpec) -> BenchmarkSpec:
    """A spec with a path or Hub source; a bare known name resolves, any other bare name is an error."""
    if spec.path or spec.hf:
        return spec
    if spec.name not in KNOWN:
        raise DqError(
            f"benchmark '{spec.name}': give a path or hf spec, or use a known name "
            f"({', '.join(KNOWN)}){did_you_mean(spec.name, KNOWN)}"
        )
    return known_benchmark(spec.name)


def load_benchmark(spec: BenchmarkSpec) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Return (frame with ``benchmark_index``, ``question``) and a description for reports."""
    spec = resolve_benchmark(spec)
    if spec.path == DEMO_SOURCE:
        from dq.data.demo import demo_benchmark

        frame = demo_benchmark()
        return frame, {"name": spec.name, "source": DEMO_SOURCE, "field": "question", "rows": frame.height}
    columns, hub_frame = _columns_of(spec)
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
        questions = hub_frame.select(pl.col(field).fill_null("").alias("question"))
    out = questions.with_row_index("benchmark_index")
    info = {"name": spec.name, "source": label, "field": field, "rows": out.height}
    return out, info


def load_benchmarks(specs: dict[str, BenchmarkSpec]) -> dict[str, tuple[pl.DataFrame, dict[str, Any]]]:
    """Every benchmark of a plan, loaded: (frame, description) by name."""
    return {name: load_benchmark(spec) for name, spec in specs.items()}
