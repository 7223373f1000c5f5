"""``dq run`` over the memory budget streams (rows on disk, lean frames in memory) and writes the
same bytes as the in-memory run; the row store hands rows back in any order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import dq.api.rows
import dq.contamination.lsh
import dq.pipeline.streaming
import dq_reports.contamination
from dq.cli.options import parse_size
from dq.pipeline.rowstore import RowStore
from dq.testing.corpus import openmath_shaped
from tests.conftest import ROOT
from tests.helpers import dq as run_dq
from tests.helpers import interrupted_in_gate

NEAR = ROOT / "rules" / "near.toml"
EPOCH = "1767225600"


@pytest.fixture(scope="module")
def corpus(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    rows = openmath_shaped(3000, shared_data, seed=3)
    rows.write_parquet(folder / "rows.parquet", row_group_size=500)
    rows.write_ndjson(folder / "rows.jsonl")
    return {"parquet": folder / "rows.parquet", "jsonl": folder / "rows.jsonl", "data": shared_data}


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many load parts and many sort buckets at test size (700 and 512 rows)."""
    monkeypatch.setattr(dq.pipeline.streaming, "PART_ROWS", 700)
    monkeypatch.setattr(dq.api.rows, "FULL_ROWS_BATCH", 512)


def run(corpus: dict[str, Path], out: Path, *extra: str, fmt: str = "parquet") -> int:
    data = corpus["data"]
    args = ["run", "--rules", NEAR, "--input", corpus[fmt], "--out", out, "--quiet", "--no-checkpoints"]
    for name in ("gsm8k", "math", "math500"):
        args += ["--benchmark", f"{name}={data / name / 'test.jsonl'}"]
    result = run_dq(*args, *extra, env={"SOURCE_DATE_EPOCH": EPOCH})
    return result.exit_code


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_streamed_run_writes_the_in_memory_bytes(
    corpus: dict[str, Path], tmp_path: Path, small_batches: None, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(corpus, tmp_path / "memory", fmt=fmt) == 1  # near.toml finds real matches: a gate fails
    # The streamed run also writes matches 7 at a time and signs MinHash components 50 texts at a time.
    monkeypatch.setattr(dq_reports.contamination, "MATCH_BATCH", 7)
    monkeypatch.setattr(dq.contamination.lsh, "SIGN_BATCH", 50)
    assert run(corpus, tmp_path / "streamed", "--memory", "1K", fmt=fmt) == 1
    memory, streamed = tree(tmp_path / "memory"), tree(tmp_path / "streamed")
    assert sorted(memory) == sorted(streamed)
    assert [name for name in memory if memory[name] != streamed[name]] == []
    manifest = json.loads(streamed["manifest.json"])
    assert manifest["rows"]["input"] == 3000 and manifest["rows"]["rejected"] > 0
    assert not list(tmp_path.glob("**/.dq-spill*")), "the spill folder never lands in the outputs"


def test_streamed_drop_keeps_dropped_rows_content(
    corpus: dict[str, Path], tmp_path: Path, small_batches: None
) -> None:
    drop = ("--contamination-action", "drop")
    assert run(corpus, tmp_path / "memory", *drop) == 0
    assert run(corpus, tmp_path / "streamed", *drop, "--memory", "1K") == 0
    assert tree(tmp_path / "memory") == tree(tmp_path / "streamed")
    index = [json.loads(line) for line in (tmp_path / "streamed/raw/index.jsonl").open()]
    dropped = [row for row in index if row.get("dropped")]
    assert dropped and all(row["generated_solution"] for row in dropped)


def test_streamed_bad_row_writes_nothing(
    corpus: dict[str, Path], tmp_path: Path, small_batches: None
) -> None:
    lines = corpus["jsonl"].read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[2500])
    bad["problem"] = 7
    lines[2500] = json.dumps(bad)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    benchmarks = [
        f"--benchmark={n}={corpus['data'] / n / 'test.jsonl'}" for n in ("gsm8k", "math", "math500")
    ]
    result = run_dq("run", "--rules", NEAR, "--input", path, "--out", tmp_path / "out", "--quiet", "--memory", "1K",
                    *benchmarks)  # fmt: skip
    assert result.exit_code == 2
    assert f"{path}:2501: field 'problem'" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]  # no output, no spill, no temp


def test_a_killed_streamed_run_resumes_without_reading_its_input_again(
    corpus: dict[str, Path], tmp_path: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row store stays beside the load stage's checkpoint, checked part by part on reuse."""
    assert run(corpus, tmp_path / "memory") == 1
    data, runs = corpus["data"], tmp_path / "runs"
    args: list[str | Path] = ["run", "--rules", NEAR, "--input", corpus["parquet"], "--memory", "1K"]
    args += [f"--benchmark={n}={data / n / 'test.jsonl'}" for n in ("gsm8k", "math", "math500")]
    env = {"SOURCE_DATE_EPOCH": EPOCH, "DQ_CHECKPOINT_DIR": str(runs)}
    stderr = interrupted_in_gate(monkeypatch, *args, "--out", tmp_path / "first", env=env).stderr
    assert "3 completed stage(s) checkpointed" in stderr
    (store,) = runs.glob("*/00-dq.load-*.rows")
    assert len(list(store.glob("part-*.arrow"))) == 5  # 3000 rows, 700 a part

    result = run_dq(*args, "--out", tmp_path / "resumed", env=env)
    assert result.exit_code == 1 and "resume: reusing dq.load, dq.curate, dq.split from" in result.stderr
    resumed, memory = tree(tmp_path / "resumed"), tree(tmp_path / "memory")
    manifest = json.loads(resumed.pop("manifest.json"))
    assert list(manifest.pop("resumed")) == ["dq.load", "dq.curate", "dq.split"]
    assert manifest == json.loads(memory.pop("manifest.json")) and resumed == memory
    assert not list(runs.iterdir()), "checkpoints and the row store are removed once the outputs land"

    interrupted_in_gate(monkeypatch, *args, "--out", tmp_path / "again", env=env)
    (store,) = runs.glob("*/00-dq.load-*.rows")
    part = store / "part-000002.arrow"
    part.write_bytes(part.read_bytes()[:-8])  # a truncated part: the load stage runs again
    result = run_dq(*args, "--out", tmp_path / "again", env=env)
    assert "checkpoint of dq.load cannot be used (part-000002.arrow of the row store differs" in result.stderr
    assert tree(tmp_path / "again").keys() == tree(tmp_path / "memory").keys()
    assert (tmp_path / "again/raw/train.jsonl").read_bytes() == memory["raw/train.jsonl"]


KILL_IN_LOAD = """
import os, signal, sys
import dq.pipeline.rowstore, dq.pipeline.streaming
dq.pipeline.streaming.PART_ROWS = 700
append = dq.pipeline.rowstore.RowStore.append
def append_then_die(self, frame):
    append(self, frame)
    if len(self.parts) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
dq.pipeline.rowstore.RowStore.append = append_then_die
from dq.cli.main import main
sys.argv = ["dq", *sys.argv[1:]]
main()
"""


def test_a_run_killed_while_writing_its_row_store_is_cleaned_up_by_its_rerun(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    data, runs = corpus["data"], tmp_path / "runs"
    args: list[str | Path] = ["run", "--rules", NEAR, "--input", corpus["parquet"], "--memory", "1K"]
    args += [f"--benchmark={n}={data / n / 'test.jsonl'}" for n in ("gsm8k", "math", "math500")]
    env = {"SOURCE_DATE_EPOCH": EPOCH, "DQ_CHECKPOINT_DIR": str(runs)}
    out = tmp_path / "out"
    killed = subprocess.run(
        [sys.executable, "-c", KILL_IN_LOAD, *map(str, args), "--out", str(out), "--quiet"],
        env={**os.environ, **env}, cwd=ROOT, capture_output=True, timeout=300,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    (folder,) = runs.iterdir()
    assert sorted(p.name for p in folder.iterdir())[0] == ".dq-checkpoints"  # marked as dq's own
    assert len(list(folder.glob("00-dq.load-*.rows/part-*.arrow"))) == 2
    result = run_dq(*args, "--out", out, env=env)
    assert result.exit_code == 1 and "resume: off" not in result.stderr, result.stderr
    assert not list(runs.iterdir()), "the partial store and the checkpoints are gone once outputs land"
    assert run(corpus, tmp_path / "memory") == 1
    assert (out / "raw/train.jsonl").read_bytes() == (tmp_path / "memory/raw/train.jsonl").read_bytes()


def rows(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    index = np.sort(rng.choice(5 * n, size=n, replace=False))  # skipped rows leave gaps
    return pl.DataFrame(
        {"row_index": index.astype(np.uint32), "text": [f"row {i} " * (i % 7) for i in index]}
    )


def test_row_store_gathers_any_order(tmp_path: Path) -> None:
    frame = rows(1000)
    store = RowStore(tmp_path / "store")
    for start in range(0, 1000, 97):
        store.append(frame.slice(start, 97))
    assert store.height == 1000 and len(store.parts) == 11
    order = pl.Series(np.random.default_rng(1).permutation(1000))
    wanted = frame[order]
    for _ in range(2):  # the second gather of the same order reuses the sorted buckets
        got = pl.concat(list(store.gather(wanted["row_index"], ["text"], 128)))
        assert got["text"].to_list() == wanted["text"].to_list()
    assert len(store._sorted) == 1
    subset = frame.filter(pl.col("row_index") % 3 == 0)  # in input order: straight from the parts
    batches = list(store.gather(subset["row_index"], ["text", "row_index"], 100))
    assert [b.height for b in batches[:-1]] == [100] * (len(batches) - 1)
    assert pl.concat(batches).equals(subset.select("text", "row_index"))
    assert list(store.gather(pl.Series([], dtype=pl.UInt32), ["text"], 100)) == []
    store.remove()
    assert not (tmp_path / "store").exists()


def test_row_store_sorts_the_expected_orders_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = rows(1000)
    store = RowStore(tmp_path / "store")
    store.extend(frame.slice(start, 97) for start in range(0, 1000, 97))
    assert len(store.parts) == 11 and len(store.digests) == 11
    shuffled = pl.Series(np.random.default_rng(2).permutation(1000))
    train, val, rejected = frame[shuffled[:700]], frame[shuffled[700:900]], frame[100:160]
    store.expect([train["row_index"], val["row_index"], rejected["row_index"], frame["row_index"]])
    reads = []
    monkeypatch.setattr(RowStore, "batches", lambda self, columns=None: reads.append(1) or iter(
        [pl.read_ipc(p, columns=list(columns) if columns else None) for p in self.parts]))  # fmt: skip
    for wanted in (train, val, rejected, train):
        got = pl.concat(list(store.gather(wanted["row_index"], ["text"], 128)))
        assert got["text"].to_list() == wanted["text"].to_list()
    assert len(reads) == 1 and len(store._sorted) == 3  # one pass; all rows in input order: not sorted
    small = frame[shuffled[:50]]  # one batch in any order: read in input order, reordered in memory
    assert pl.concat(list(store.gather(small["row_index"], ["text"], 128)))["text"].equals(small["text"])
    assert len(reads) == 2 and len(store._sorted) == 3


def test_memory_sizes() -> None:
    assert parse_size("8G") == 8 << 30
    assert parse_size("512m") == 512 << 20
    assert parse_size("1.5GiB") == int(1.5 * (1 << 30))
    assert parse_size("4000") == 4000


def test_bad_memory_is_a_usage_error(tmp_path: Path) -> None:
    result = run_dq("run", "--rules", NEAR, "--memory", "lots", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "'lots' is not a size" in result.output
