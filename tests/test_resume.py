"""``dq run`` resumes a killed or failed run from its completed stages, and only when nothing changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from click.testing import Result

from dq.api.run import GateVerdict, SplitResult, Stage
from dq.data.demo import demo_rows
from dq.pipeline import checkpoint, shared_strings
from dq.pipeline.checkpoint import CheckpointError, Contents
from dq.pipeline.resume import MARKER, prune_stale
from dq.pipeline.run_keys import cache_root, stage_keys
from dq.pipeline.shared_strings import StringPool
from tests.conftest import ROOT, STRICT
from tests.helpers import dq, interrupted_in_gate

EPOCH = "1767225600"
#: strict.toml without dq.tokens (the slow stage): the same contract, a quicker pipeline.
PIPELINE = 'pipeline = ["dq.load", "dq.curate", "dq.split", "dq.gate", "dq.render", "dq.write"]\n'
BEFORE_GATE = "dq.load, dq.curate, dq.split"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def same_outputs(resumed: Path, fresh: Path) -> dict[str, Any]:
    """Assert two output folders are byte-identical but for the manifest's ``resumed``; return it."""
    a, b = tree(resumed), tree(fresh)
    manifest = json.loads(a.pop("manifest.json"))
    reused = manifest.pop("resumed", {})
    assert manifest == json.loads(b.pop("manifest.json"))
    assert a == b
    return reused


def checkpoints(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "runs").glob("*/*") if p.is_dir())


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "strict_quick.toml"
    path.write_text(PIPELINE + STRICT.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fresh(rules: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of ``rules`` on the demo corpus with resume off: what every resumed run must equal."""
    out = tmp_path_factory.mktemp("fresh") / "out"
    cache = tmp_path_factory.mktemp("fresh-cache")
    result = dq("run", "--rules", rules, "--out", out, "--no-resume", env=env(cache))
    assert result.exit_code == 1, result.output
    return out


def env(cache: Path) -> dict[str, str]:
    """Checkpoints under ``cache/runs``, as ``DQ_CACHE_DIR=cache`` puts them (conftest sets
    ``DQ_CHECKPOINT_DIR``, which wins), and a fixed clock."""
    return {"DQ_CHECKPOINT_DIR": str(cache / "runs"), "SOURCE_DATE_EPOCH": EPOCH}


def interrupted(monkeypatch: pytest.MonkeyPatch, cache: Path, *args: str | Path) -> Result:
    """``dq run ARGS`` interrupted (Ctrl-C) in the gate stage, after load, curate and split."""
    return interrupted_in_gate(monkeypatch, "run", *args, env=env(cache))


KILL = """
import os, signal, sys
import dq_stages.tokens
dq_stages.tokens.TokensStage.run = lambda self, state: os.kill(os.getpid(), signal.SIGKILL)
from dq.cli.main import main
sys.argv = ["dq", *sys.argv[1:]]
main()
"""


def test_a_killed_run_resumes_from_its_completed_stages(tmp_path: Path) -> None:
    """SIGKILL in dq.tokens (no cleanup runs); the rerun reuses the five stages before it."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    killed = subprocess.run(
        [sys.executable, "-c", KILL, "run", "--rules", STRICT, "--out", out, "--quiet"],
        env={**os.environ, **env(cache)},
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert not out.exists() and len(checkpoints(cache)) == 5
    before = ["dq.load", "dq.curate", "dq.split", "dq.gate", "dq.render"]
    result = dq("run", "--rules", STRICT, "--out", out, env=env(cache))
    assert result.exit_code == 1, result.output
    assert f"resume: reusing {', '.join(before)} from" in result.stderr
    fresh = tmp_path / "fresh"
    assert dq("run", "--rules", STRICT, "--out", fresh, "--no-resume", env=env(cache)).exit_code == 1
    assert list(same_outputs(out, fresh)) == before
    assert not checkpoints(cache) and not list((cache / "runs").iterdir())  # removed once finished
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the killed run's temp folder


def test_an_interrupted_run_resumes_and_equals_a_fresh_one(
    rules: Path, fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    stopped = interrupted(monkeypatch, cache, "--rules", rules, "--out", out)
    assert "3 completed stage(s) checkpointed" in stopped.stderr
    result = dq("run", "--rules", rules, "--out", out, env=env(cache))
    assert result.exit_code == 1 and f"resume: reusing {BEFORE_GATE} from" in result.stderr
    assert list(same_outputs(out, fresh)) == BEFORE_GATE.split(", ")
    assert not checkpoints(cache)
    written = tree(out)
    assert dq("report", out, "--quiet", env=env(cache)).exit_code == 1
    assert tree(out) == written  # dq report rebuilds the manifest with its "resumed" record


def test_quiet_says_nothing_but_the_manifest_records_the_resume(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    interrupted(monkeypatch, cache, "--rules", rules, "--out", out, "--quiet")
    result = dq("run", "--rules", rules, "--out", out, "--quiet", env=env(cache))
    assert result.exit_code == 1 and result.stderr == ""
    assert list(json.loads((out / "manifest.json").read_text())["resumed"]) == BEFORE_GATE.split(", ")


@pytest.mark.parametrize("change", ["rules", "input", "benchmark"])
def test_a_changed_rule_set_input_or_benchmark_invalidates_every_stage(
    change: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules, data, bench = tmp_path / "r.toml", tmp_path / "in.jsonl", tmp_path / "gsm8k.jsonl"
    rules.write_text(PIPELINE + STRICT.read_text(encoding="utf-8"), encoding="utf-8")
    demo_rows(n=200).write_ndjson(data)
    bench.write_text(json.dumps({"question": "How many apples are left?"}) + "\n")
    args = ("--rules", rules, "--input", data, "--benchmark", f"gsm8k={bench}", "--out", tmp_path / "o")
    interrupted(monkeypatch, tmp_path / "cache", *args)
    assert len(checkpoints(tmp_path / "cache")) == 3
    changed = {"rules": rules, "input": data, "benchmark": bench}[change]
    with changed.open("a", encoding="utf-8") as fh:  # a comment, a row, an item: any byte counts
        fh.write("# changed\n" if change == "rules" else changed.read_text().splitlines()[0] + "\n")
    result = dq("run", *args, env=env(tmp_path / "cache"))
    assert result.exit_code in (0, 1), result.output
    assert "resume:" not in result.stderr
    assert "resumed" not in json.loads((tmp_path / "o/manifest.json").read_text())
    # The interrupted run's checkpoints are another key's: left as they are (they age out).
    assert len(checkpoints(tmp_path / "cache")) == 3 and len(list((tmp_path / "cache/runs").iterdir())) == 1


def test_no_resume_runs_every_stage(
    rules: Path, fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    interrupted(monkeypatch, cache, "--rules", rules, "--out", out)
    result = dq("run", "--rules", rules, "--out", out, "--no-resume", env=env(cache))
    assert result.exit_code == 1 and "resume:" not in result.stderr
    assert same_outputs(out, fresh) == {}
    assert not checkpoints(cache)


def test_no_checkpoints_writes_none_and_so_cannot_resume(
    rules: Path, fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    interrupted(monkeypatch, cache, "--rules", rules, "--out", out, "--no-checkpoints")
    assert not checkpoints(cache)
    result = dq("run", "--rules", rules, "--out", out, "--no-checkpoints", env=env(cache))
    assert result.exit_code == 1 and "resume:" not in result.stderr
    assert same_outputs(out, fresh) == {}
    assert not checkpoints(cache)


@pytest.mark.parametrize("damage", ["flip a frame byte", "truncate values", "no checkpoint.json"])
def test_a_corrupt_or_partial_checkpoint_runs_that_stage_again(
    damage: str, rules: Path, fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    interrupted(monkeypatch, cache, "--rules", rules, "--out", out)
    (curate,) = (cache / "runs").glob("*/01-dq.curate-*")
    if damage == "flip a frame byte":
        frame = curate / "frames" / "0.arrow"
        data = bytearray(frame.read_bytes())
        data[len(data) // 2] ^= 0xFF
        frame.write_bytes(bytes(data))
    elif damage == "truncate values":
        values = curate / "values.pkl"
        values.write_bytes(values.read_bytes()[:-7])
    else:
        (curate / "checkpoint.json").unlink()
    dead = curate.parent / ".tmp-999999999-0123456789ab"  # a killed writer's temp folder
    dead.mkdir()
    result = dq("run", "--rules", rules, "--out", out, env=env(cache))
    assert result.exit_code == 1, result.output
    assert "resume: the checkpoint of dq.curate cannot be used" in result.stderr
    assert "resume: reusing dq.load from" in result.stderr
    assert list(same_outputs(out, fresh)) == ["dq.load"]
    assert not (cache / "runs").exists() or not list((cache / "runs").iterdir())


def test_kept_checkpoints_let_the_same_command_reuse_all_but_the_last_stage(
    rules: Path, fresh: Path, tmp_path: Path
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = dq("run", "--rules", rules, "--out", out, "--keep-checkpoints", env=env(cache))
    assert first.exit_code == 1 and "checkpoints kept in" in first.stderr
    assert len(checkpoints(cache)) == 5  # every stage but dq.write
    again = dq("run", "--rules", rules, "--out", out, "--overwrite", env=env(cache))
    assert "resume: reusing dq.load, dq.curate, dq.split, dq.gate, dq.render" in again.stderr
    assert len(same_outputs(out, fresh)) == 5
    assert not checkpoints(cache)


def test_foreign_files_in_the_checkpoint_folder_are_never_removed(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    interrupted(monkeypatch, cache, "--rules", rules, "--out", out)
    (run_dir,) = (cache / "runs").iterdir()
    (run_dir / "notes.txt").write_text("mine")
    (run_dir / "99-mine").mkdir()
    assert dq("run", "--rules", rules, "--out", out, env=env(cache)).exit_code == 1
    assert sorted(p.name for p in run_dir.iterdir()) == [".dq-checkpoints", "99-mine", "notes.txt"]


class Plain(Stage):
    name = "t.plain"


class Other(Stage):
    name = "t.other"


def test_stage_keys_chain_so_a_changed_stage_invalidates_it_and_every_later_one() -> None:
    a = stage_keys("run", [Plain(), Plain(), Plain()])
    b = stage_keys("run", [Plain(), Other(), Plain()])
    assert a[0] == b[0] and a[1] != b[1] and a[2] != b[2]
    assert stage_keys("other run", [Plain()])[0] != a[0]


class NotAllowed:
    """A class of a module no checkpoint may name (tests.*)."""


def test_checkpoint_round_trip_and_what_it_refuses(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]}, schema={"a": pl.UInt32, "b": pl.String})
    split = SplitResult(train=[1], val=[0], train_groups=1, val_groups=1)
    values = {
        "f": frame,
        "same": frame,
        "s": frame["b"],
        "split": split,
        "gates": [GateVerdict("g", "fail", "pass")],
    }
    checkpoint.write(tmp_path / "c", Contents(values, meta={"key": "k"}))
    back = checkpoint.read(tmp_path / "c", "k").values
    assert back["f"].equals(frame) and back["f"].schema == frame.schema and back["same"] is back["f"]
    assert back["s"].equals(frame["b"]) and back["split"] == split and back["gates"] == values["gates"]
    with pytest.raises(CheckpointError, match="format or key"):
        checkpoint.read(tmp_path / "c", "another key")
    checkpoint.write(tmp_path / "bad", Contents({"x": NotAllowed()}, meta={"key": "k"}))
    with pytest.raises(CheckpointError, match="may not hold"):
        checkpoint.read(tmp_path / "bad", "k")


def test_checkpointed_frames_share_their_repeated_strings(tmp_path: Path) -> None:
    """Repeated strings (a streamed run's lean frames: views onto one table of distinct texts) are
    written as codes into one dictionary, not the table once per chunk; restored, they decode to equal frames whose
    strings come from one table per column name, across checkpoints read with one pool."""
    rng = np.random.default_rng(0)
    texts = pl.Series("problem", [f"a problem of some length, number {i}" for i in range(5_000)]).rechunk()
    batches = [
        pl.DataFrame({"row_index": np.arange(b * 4_000, (b + 1) * 4_000), "problem": texts.gather(rng.integers(0, 5_000, 4_000))})
        for b in range(8)
    ]  # fmt: skip
    accepted = pl.concat(batches, rechunk=False).with_columns(
        problem=pl.when(pl.col("row_index") % 101 == 0).then(None).otherwise(pl.col("problem")),
        source=pl.lit("gsm8k"),
    )
    train, val = accepted.slice(0, 28_000), accepted.slice(28_000)
    checkpoint.write(tmp_path / "curate", Contents({"accepted": accepted}, meta={"key": "c"}))
    checkpoint.write(tmp_path / "split", Contents({"train": train, "val": val}, meta={"key": "s"}))
    written = pl.read_ipc(tmp_path / "curate/frames/0.arrow")
    assert written.schema["problem"] == pl.UInt32 and written.schema["row_index"] == pl.Int64  # codes
    pool = StringPool()
    curate = checkpoint.read(tmp_path / "curate", "c", pool=pool).values
    split = checkpoint.read(tmp_path / "split", "s", pool=pool).values
    assert curate["accepted"].equals(accepted) and curate["accepted"].schema == accepted.schema
    assert split["train"].equals(train) and split["val"].equals(val)
    distinct = accepted["problem"].drop_nulls().n_unique()
    assert pool.tables["problem"].len() == distinct  # split's dictionary, a subset, added nothing
    assert pool.tables["source"].to_list() == ["gsm8k"]


def test_checkpoints_live_under_dq_cache_dir_unless_dq_checkpoint_dir_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DQ_CHECKPOINT_DIR", raising=False)
    monkeypatch.setenv("DQ_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path / "runs"
    monkeypatch.setenv("DQ_CHECKPOINT_DIR", str(tmp_path / "elsewhere"))
    assert cache_root() == tmp_path / "elsewhere"


def test_only_dq_checkpoint_folders_untouched_for_two_weeks_age_out(tmp_path: Path) -> None:
    old, recent, foreign, current = (tmp_path / name for name in ("old", "recent", "foreign", "current"))
    for folder in (old, recent, foreign, current):
        (folder / "00-dq.load-0123456789abcdef").mkdir(parents=True)
    for folder in (old, recent, current):
        (folder / MARKER).write_text("{}")
    weeks_ago = time.time() - 15 * 86400
    for folder in (old, foreign, current):
        os.utime(folder, (weeks_ago, weeks_ago))
    prune_stale(tmp_path, current)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "foreign", "recent"]


def test_mostly_distinct_texts_are_written_as_they_are(tmp_path: Path) -> None:
    """A column with more distinct values than half its rows (solutions) gets no dictionary."""
    solutions = pl.Series("solution", [f"solution {i}" for i in range(3_000)])
    frame = pl.DataFrame({"solution": solutions, "source": ["math"] * 3_000})
    checkpoint.write(tmp_path / "c", Contents({"rows": frame}, meta={"key": "c"}))
    written = pl.read_ipc(tmp_path / "c/frames/0.arrow")
    assert written.schema["solution"] == pl.String and written.schema["source"] == pl.UInt32
    assert checkpoint.read(tmp_path / "c", "c").values["rows"].equals(frame)


def test_a_value_missing_from_its_dictionary_leaves_the_column_unencoded() -> None:
    """What a hash collision in ``first_distinct`` would cause: the column is written as strings,
    never as codes with a null where a text was."""
    frame = pl.DataFrame({"problem": ["a", "b", "a", None] * 500})
    lacking = {"problem": pl.Series("problem", ["a"])}
    encoded, names = shared_strings.encode(frame, lacking)
    assert names == [] and encoded.equals(frame)
    complete = {"problem": pl.Series("problem", ["a", "b"])}
    encoded, names = shared_strings.encode(frame, complete)
    assert names == ["problem"] and encoded["problem"].null_count() == 500
