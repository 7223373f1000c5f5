"""Local engine vs Ray on this machine: `dq run --rules rules/near.toml` on OpenMath-shaped rows.

    nice -n 10 python bench/bench_engine.py --rows 1000000        # default 100,000
    nice -n 10 python bench/bench_engine.py --rows 100000 --engines ray --partitions 8
    nice -n 10 python bench/bench_engine.py --tokens      # near.toml as is (with the dq.tokens stage)

Each engine runs in a fresh subprocess (one Ray session, loopback, 2 CPUs by default) over the
same Parquet file of rows built by dq.testing's corpus builder from real GSM8K/MATH text, gated
against the real GSM8K, MATH and MATH-500 test sets. Reported per engine: wall time of the run,
rows/s, the driver's peak RSS and the peak of the summed RSS of the driver and every process it
started (Ray's GCS, raylet and workers; shared object-store pages count in each process that maps
them, so this sum over-counts). Until the pipeline calls :func:`dq.engine.current`, the Ray
engine is wired into the run by patching its three call sites, as tests/test_ray_engine.py does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / "_data"


def corpus(rows: int) -> Path:
    """The OpenMath-shaped input file of ``rows`` rows (built once, cached under bench/_data)."""
    from dq.testing.corpus import openmath_shaped

    path = CACHE / f"openmath_shaped_{rows}.parquet"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        openmath_shaped(rows, DATA, seed=0).write_parquet(path)
    return path


class PeakRss:
    """Samples the summed RSS of this process and its descendants every 0.2 s; keeps the peak."""

    def __init__(self) -> None:
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def wired(engine: Any) -> Iterator[None]:
    """The pipeline's three engine call sites routed to ``engine`` (the proposed core wiring)."""
    from dq.contamination.near import MinHashCheck, NgramCheck, TemplateCheck

    def check_find(cls: Any) -> Any:
        original = cls.find

        def find(self: Any, rows: Any, bench: Any) -> Any:
            return (
                original(self, rows, bench) if "pos" not in rows.columns else engine.find(self, rows, bench)
            )

        return find

    with ExitStack() as stack:
        stack.enter_context(
            mock.patch(
                "dq_stages.curate.apply_rules", lambda r, ru, s, progress=None: engine.curate(r, ru, s)
            )
        )
        stack.enter_context(mock.patch("dq.contamination.leakage.near_components", engine.near_components))
        for cls in (MinHashCheck, NgramCheck, TemplateCheck):
            stack.enter_context(mock.patch.object(cls, "find", check_find(cls)))
        yield


#: near.toml's stages without dq.tokens: the tokenizer pass is the same driver-side code under
#: either engine and would dominate the timing (52 of 64 s at 20,000 rows); --tokens keeps it.
NO_TOKENS = 'pipeline = ["dq.load", "dq.curate", "dq.split", "dq.gate", "dq.render", "dq.write"]'


def rules_file(tokens: bool) -> Path:
    """near.toml, or near.toml without the token stage (a copy under bench/_data)."""
    near = ROOT / "rules/near.toml"
    if tokens:
        return near
    lines = near.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("description")) + 1
    path = CACHE / "near_no_tokens.toml"  # a stable path: the manifest names the rule set
    path.write_text("\n".join(lines[:at] + [NO_TOKENS] + lines[at:]) + "\n", encoding="utf-8")
    return path


def run_one(
    engine_name: str, path: Path, rules: Path, out: Path, partitions: int, cpus: int
) -> dict[str, Any]:
    """One `dq run` of near.toml on ``path`` with the named engine; figures as a dict."""
    from dq.pipeline.execute import run_pipeline
    from dq.pipeline.plan import RunOptions
    from dq.plugins import build_registry, make_plugin_manager

    os.environ["DQ_BENCHMARK_DIR"] = str(DATA)
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    pm, infos, _ = make_plugin_manager()
    registry = build_registry(pm, infos)
    options = RunOptions(str(path))
    with ExitStack() as stack:
        if engine_name == "ray":
            from dq.engine.ray_engine import RayOptions, ray_engine

            engine = stack.enter_context(ray_engine(RayOptions(partitions=partitions, num_cpus=cpus)))
            stack.enter_context(wired(engine))
        rss = stack.enter_context(PeakRss())
        start = time.perf_counter()
        result, state = run_pipeline(pm, registry, rules, options, out_dir=out)
        wall = time.perf_counter() - start
    rows = state.input_info["rows"]
    digest = hashlib.sha256()
    for file in sorted(p for p in out.rglob("*") if p.is_file()):
        digest.update(file.relative_to(out).as_posix().encode() + b"\0" + file.read_bytes())
    return {
        "engine": engine_name,
        "rows": rows,
        "wall_s": round(wall, 1),
        "rows_per_s": round(rows / wall),
        "driver_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "tree_peak_rss_mib": rss.peak // 2**20,
        "status": result.status,
        "outputs_sha256": digest.hexdigest(),
        "stage_s": state.timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--partitions", type=int, default=0, help="band-key partitions (0: 2 x CPUs)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray session")
    parser.add_argument("--tokens", action="store_true", help="keep near.toml's dq.tokens stage")
    parser.add_argument("--keep", type=Path, help="write each engine's run folder under this folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = corpus(args.rows)
    if args.child:  # one engine, in this fresh process
        with tempfile.TemporaryDirectory() as tmp:
            rules = rules_file(args.tokens)
            out = (args.keep / args.child) if args.keep else Path(tmp) / "out"
            figures = run_one(args.child, path, rules, out, args.partitions, args.cpus)
        print(json.dumps(figures))
        return
    results = []
    for engine in args.engines.split(","):
        cmd = [sys.executable, __file__, "--rows", str(args.rows), "--partitions", str(args.partitions)]
        cmd += ["--cpus", str(args.cpus), "--child", engine] + (["--tokens"] if args.tokens else [])
        cmd += ["--keep", str(args.keep)] if args.keep else []
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    if len({r["outputs_sha256"] for r in results}) == 1 and len(results) > 1:
        print("outputs identical across engines (sha256 over every file, SOURCE_DATE_EPOCH set)")


if __name__ == "__main__":
    main()
