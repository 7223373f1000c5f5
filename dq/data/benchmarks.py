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


def benchmark_dir() -> Path | None:
    """``$DQ_BENCHMARK_DIR`` (local copies of the known benchmarks), or None when unset."""
    import os

    root = os.environ.get("DQ_BENCHMARK_DIR", "").strip()
    return Path(root).expanduser() if root else None


def known_location(name: str) -> tuple[str, str]:
    """Where a known benchmark resolves now: ``("local", PATH)``, ``("hub", SPEC)`` or ``("missing", PATH)``.

    With ``DQ_BENCHMARK_DIR`` set, the file under it is the only source: never a silent Hub fallback.
    """
    hf, _, rel = KNOWN[name]
    root = benchmark_dir()
    if root is None:
        return "hub", hf
    path = root / rel
    return ("local" if path.is_file() else "missing"), str(path)


def known_benchmark(name: str) -> BenchmarkSpec:
    """A named benchmark: the file under ``$DQ_BENCHMARK_DIR`` when that is set, else the Hub."""
    hf, field, rel = KNOWN[name]
    where, location = known_location(name)
    if where == "hub":
        return BenchmarkSpec(name=name, hf=hf, field=field)
    if where == "local":
        return BenchmarkSpec(name=name, path=location, field=field)
    root = benchmark_dir()
    fix = (
        f"make it with 'dq benchmarks pull {name} --to {root}' where online, or pass --benchmark {name}=PATH"
    )
    if root is not None and not root.is_dir():
        raise DqError(
            f"benchmark '{name}': DQ_BENCHMARK_DIR={root} is not a folder (expected {location}); "
            f"fix DQ_BENCHMARK_DIR (unset it to use the Hub), {fix}"
        )
    raise DqError(f"benchmark '{name}': {location} not found (DQ_BENCHMARK_DIR={root}); {fix}")


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


def _read_hf(spec: str, label: str, offline: bool = False) -> pl.DataFrame:
    """One Hub dataset, every column; ``offline`` reads the ``datasets`` cache only (no retries)."""
    import contextlib
    import warnings

    from dq.data.hub import hub_offline, parse_hf_spec, quiet_hub_logs

    name, config, split = parse_hf_spec(spec)
    try:
        import datasets
        import pyarrow as pa
    except ImportError:
        raise DqError("hf: benchmarks need the 'datasets' package: pip install 'dq[hf]'") from None
    quiet_hub_logs()
    try:
        with warnings.catch_warnings(), hub_offline() if offline else contextlib.nullcontext():
            warnings.simplefilter("ignore")
            # CONFIG may list several configs joined by "+" (MATH ships one per subject).
            configs = config.split("+") if config else [None]
            tables = [datasets.load_dataset(name, c, split=split).data.table for c in configs]
            table = pa.concat_tables(tables)
    except Exception as exc:  # noqa: BLE001 - hub/network errors become one line
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise DqError(
            f"benchmark '{label}' (hf:{spec}): cannot load ({type(exc).__name__}{': ' + detail if detail else ''}); "
            f"pass a local copy with --benchmark {label}=PATH"
        ) from None
    return pl.from_arrow(table)  # type: ignore[return-value]


def hub_unreachable_message(specs: dict[str, str], reason: str, pulling: bool = False) -> str:
    """One line: every Hub benchmark that cannot be loaded, by name, and how to go on without the Hub."""
    names = list(specs)
    known = [n for n in names if n in KNOWN and specs[n] == KNOWN[n][0]]
    plural = len(names) > 1
    head = (
        f"benchmark{'s' if plural else ''} {', '.join(names)} need{'' if plural else 's'} the "
        f"Hugging Face Hub, which cannot be reached ({reason})"
    )
    if pulling:
        return (
            f"{head}: run 'dq benchmarks pull {' '.join(names)} --to DIR' where the Hub is reachable, "
            "then copy DIR here and set DQ_BENCHMARK_DIR=DIR"
        )
    fixes = []
    if known:
        files = ", ".join(KNOWN[n][2] for n in known)
        fixes.append(
            f"set DQ_BENCHMARK_DIR to a folder with {files} "
            f"(make one with 'dq benchmarks pull {' '.join(known)} --to DIR' where online)"
        )
    fixes.append("pass --benchmark NAME=PATH")
    return f"{head}: {', or '.join(fixes)}"


def check_hub(specs: dict[str, BenchmarkSpec], pulling: bool = False) -> str | None:
    """Decide once, fast, whether the Hub benchmarks of ``specs`` can load: None when the Hub is
    reachable, else why not; offline, one DqError names every one not in the ``datasets`` cache.

    Cheap (no ``datasets`` import, at most one short probe): callers may run it before reading data.
    """
    from dq.data.hub import hub_cached, hub_offline_reason

    hub = {name: spec.hf for name, spec in specs.items() if spec.hf and not spec.path}
    if not hub:
        return None
    reason = hub_offline_reason()
    if reason is not None:
        unreachable = {name: hf for name, hf in hub.items() if not hub_cached(hf)}
        if unreachable:
            raise DqError(hub_unreachable_message(unreachable, reason, pulling))
    return reason


def fetch_hub_benchmarks(
    specs: dict[str, BenchmarkSpec], pulling: bool = False
) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """Hub benchmarks by name, and one error line per benchmark that failed to load.

    Reachability is decided once (``check_hub``) before any load: offline, only copies already in
    the ``datasets`` cache load, without retries; when any other is needed, one DqError names them all.
    """
    import importlib.util

    hub = {name: spec.hf for name, spec in specs.items() if spec.hf and not spec.path}
    if not hub:
        return {}, []
    reason = check_hub(specs, pulling)
    if importlib.util.find_spec("datasets") is None:
        raise DqError(f"hf: benchmarks ({', '.join(hub)}) need the 'datasets' package: pip install 'dq[hf]'")
    frames, errors, failed = {}, [], []
    for name, hf in hub.items():
        try:
            frames[name] = _read_hf(hf, name, offline=reason is not None)
        except DqError as exc:
            errors.append(exc.message)
            failed.append(name)
    if reason is not None and failed:  # a cached copy that did not load: still the Hub's to give
        raise DqError(hub_unreachable_message({n: hub[n] for n in failed}, reason, pulling))
    return frames, errors


def read_hub_benchmarks(specs: dict[str, BenchmarkSpec]) -> dict[str, pl.DataFrame]:
    """Every Hub benchmark of ``specs`` loaded, or one DqError naming every one that is not."""
    frames, errors = fetch_hub_benchmarks(specs)
    if errors:
        raise DqError("\n".join(errors))
    return frames


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
        questions = hub_frame.select(pl.col(field).fill_null("").alias("question"))
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


def pull_benchmarks(
    names: list[str], root: Path, overwrite: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """Write each known benchmark from the Hub to ``ROOT/<rel>`` as JSONL, as ``DQ_BENCHMARK_DIR`` expects.

    Files already there are kept unless ``overwrite``. Each file is written to a temp name and
    renamed, so a reader never sees half a file. Returns what was done per benchmark and one
    error line per benchmark that failed to load (the others are still written); offline, one
    DqError names every benchmark that needs the Hub before anything is written.
    """
    import os

    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        raise DqError(
            "; ".join(f"unknown benchmark '{n}'{did_you_mean(n, KNOWN)}" for n in unknown)
            + f"; known benchmarks: {', '.join(KNOWN)}"
        )
    if root.exists() and not root.is_dir():
        raise DqError(f"--to {root}: not a folder")
    results: list[dict[str, Any]] = []
    wanted: dict[str, BenchmarkSpec] = {}
    for name in dict.fromkeys(names):
        hf, field, rel = KNOWN[name]
        target = root / rel
        if target.exists() and not overwrite:
            results.append({"name": name, "path": str(target), "status": "kept", "rows": None})
        else:
            wanted[name] = BenchmarkSpec(name=name, hf=hf, field=field)
    frames, errors = fetch_hub_benchmarks(wanted, pulling=True)
    for name, frame in frames.items():
        target = root / KNOWN[name][2]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            frame.write_ndjson(tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        results.append({"name": name, "path": str(target), "status": "pulled", "rows": frame.height})
    return results, errors
