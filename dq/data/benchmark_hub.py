"""Benchmarks from the Hugging Face Hub: one fast reachability decision, quiet loads, ``pull``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from dq.api.schema import BenchmarkSpec
from dq.data.benchmark_names import KNOWN
from dq.errors import DqError, did_you_mean


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
