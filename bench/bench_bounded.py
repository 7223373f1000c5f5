"""Bounded memory: ``dq run`` in memory vs streamed (over ``--memory``), and a 14M-row run.

    python bench/bench_bounded.py --rows 1000000                 # strict.toml: in memory vs streamed, same bytes
    python bench/bench_bounded.py --rows 14000000 --rules near --memory 8G --streamed-only
    python bench/bench_bounded.py --rows 1000000 --without-tokens   # strict.toml as issue 13 timed it

Needs ../shared/data. Corpora (OpenMath-shaped rows from real GSM8K/MATH train text, built 1M rows
at a time with seeds 1, 2, ...) are cached in bench/_data/. Each run is a child process with
``--no-checkpoints --quiet``; peak RSS is the child's own (os.wait4) and, sampled every 0.2 s, the
child plus its token-count workers. With ``--rows`` ≤ 2M both runs' outputs are compared byte for
byte (the manifest's and contamination report's ``created_at`` aside).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / "_data"
CHUNK = 1_000_000


def corpus(rows: int) -> Path:
    """``rows`` OpenMath-shaped rows as Parquet (row groups of 250k), built a million at a time."""
    import pyarrow.parquet as pq

    from dq.testing.corpus import openmath_shaped

    path = CACHE / f"openmath_bounded_{rows}.parquet"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    writer = None
    for number, start in enumerate(range(0, rows, CHUNK)):
        table = openmath_shaped(min(CHUNK, rows - start), DATA, seed=1 + number).to_arrow()
        writer = writer or pq.ParquetWriter(partial, table.schema)
        writer.write_table(table, row_group_size=250_000)
    assert writer is not None
    writer.close()
    partial.rename(path)
    return path


def tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and every descendant (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += int((Path("/proc") / str(current) / "statm").read_text().split()[1]) * os.sysconf(
                "SC_PAGE_SIZE"
            )
        except (OSError, IndexError, ValueError):
            pass
        todo += children.get(current, [])
    return total


def measured(cmd: list[str]) -> tuple[float, float, float, int]:
    """Run one child: wall seconds, its peak RSS (MiB), peak RSS with its descendants (MiB), exit."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        peak_tree = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_tree = max(peak_tree, tree_rss(proc.pid))
            time.sleep(0.2)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err.seek(0)
            sys.exit(f"{' '.join(cmd[:6])} failed ({code}): {err.read()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, peak_tree / 2**20, code


def same_outputs(a: Path, b: Path) -> list[str]:
    """Files that differ between two run folders (timestamps aside)."""
    import json

    differ = []
    files = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    for name in files:
        left, right = (a / name).read_bytes(), (b / name).read_bytes()
        if name in ("manifest.json", "reports/contamination.json"):
            one, two = json.loads(left), json.loads(right)
            for doc in (one, two):
                doc.pop("created_at", None)
                doc.get("outputs", {}).pop("reports/contamination.json", None)
            left, right = json.dumps(one).encode(), json.dumps(two).encode()
        if left != right:
            differ.append(name)
    return differ


def without_tokens(rules: Path) -> Path:
    """A copy of ``rules`` (in bench/_data) whose pipeline is the default one without dq.tokens."""
    from dq.api.schema import DEFAULT_PIPELINE

    stages = [s for s in DEFAULT_PIPELINE if s != "dq.tokens"]
    text = rules.read_text()
    top = f"pipeline = {stages!r}\n".replace("'", '"')
    head, _, rest = text.partition("\n[")  # top-level keys go before the first table
    out = CACHE / f"{rules.stem}_without_tokens.toml"
    CACHE.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{head}\n{top}\n[{rest}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rules", default="strict", help="a rule set in rules/ (strict, near)")
    parser.add_argument("--memory", default="1M", help="--memory of the streamed run (1M: always streams)")
    parser.add_argument("--streamed-only", action="store_true")
    parser.add_argument(
        "--without-tokens",
        action="store_true",
        help="leave dq.tokens out of the pipeline (the workload issue 13 timed, before strict.toml counted tokens)",
    )
    args = parser.parse_args()
    path = corpus(args.rows)
    rules = ROOT / "rules" / f"{args.rules}.toml"
    if args.without_tokens:
        rules = without_tokens(rules)
    bench = [f"--benchmark={n}={DATA / n / 'test.jsonl'}" for n in ("gsm8k", "math", "math500")]
    bench = bench[:1] if args.rules == "strict" else bench
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        base = [sys.executable, "-m", "dq", "run", "--rules", str(rules), "--input", str(path), *bench,
                "--quiet", "--no-checkpoints"]  # fmt: skip
        runs = [] if args.streamed_only else [("in memory", [*base, "--out", f"{tmp}/memory"])]
        runs.append(
            (
                f"streamed (--memory {args.memory})",
                [*base, "--out", f"{tmp}/streamed", "--memory", args.memory],
            )
        )
        print(
            f"rows={args.rows:,}  rules={rules.name}  input={path.stat().st_size / 2**20:,.0f} MiB Parquet  cores={os.cpu_count()}"
        )
        print(
            f"{'dq run':34s} {'seconds':>8s} {'s/M rows':>9s} {'rows/s':>9s} {'peak RSS':>9s} {'+workers':>9s} exit"
        )
        for label, cmd in runs:
            wall, own, tree, code = measured(cmd)
            print(f"{label:34s} {wall:8.1f} {wall / args.rows * 1e6:9.1f} {args.rows / wall:9,.0f} "
                  f"{own:8,.0f}M {tree:8,.0f}M {code}")  # fmt: skip
        if not args.streamed_only and args.rows <= 2_000_000:
            differ = same_outputs(Path(tmp) / "memory", Path(tmp) / "streamed")
            print("outputs byte-identical (timestamps aside)" if not differ else f"outputs DIFFER: {differ}")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
