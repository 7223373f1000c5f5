"""Exit codes mean one thing each: 0 pass, 1 a gate failed, 2 bad usage/config/input, 3 a bug, 130 interrupted.

The CLI runs in a real subprocess here (``python -m dq``), so signals, stderr and exit codes are
the ones a script would see.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, STRICT

# Loads the misbehaving test plugin as a built-in, then runs the real console entry point.
DRIVER = (
    "import functools, sys, dq.cli.runtime as rt, tests.plugins.misbehaving as m; "
    "rt.make_plugin_manager = functools.partial(rt.make_plugin_manager, extra=[m]); "
    "from dq.cli.main import main; sys.argv[0] = 'dq'; main()"
)
GOOD_ROW = {"problem": "What is 1+1?", "generated_solution": "So \\boxed{2}.", "expected_answer": "2"}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "DQ_LOAD_PLUGINS": ""}


def dq_proc(*args: str | Path, driver: str = DRIVER) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", driver, *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=180,
        check=False,
    )


def _rules(tmp_path: Path, pipeline: str) -> Path:
    path = tmp_path / "r.toml"
    path.write_text(f'pipeline = ["dq.load", "dq.curate", "{pipeline}", "dq.split", "dq.gate", "dq.write"]\n')
    return path


def _no_leftovers(tmp_path: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_exits_130_and_removes_temp_outputs(tmp_path: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DRIVER,
            "run",
            "--rules",
            str(_rules(tmp_path, "misbehaving.sleep")),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "sleeping"  # the stage is running inside the temp folder
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp-")]
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines() == ["Interrupted."]
    _no_leftovers(tmp_path)


def test_a_bug_exits_3_with_one_line_and_a_saved_traceback(tmp_path: Path) -> None:
    result = dq_proc("run", "--rules", _rules(tmp_path, "misbehaving.crash"), "--out", tmp_path / "out")
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "RuntimeError: the plugin author forgot a case" in lines[0]
    saved = Path(lines[0].split("traceback saved to ", 1)[1].split(";")[0])
    assert "Traceback" in saved.read_text() and "misbehaving.py" in saved.read_text()
    _no_leftovers(tmp_path)


def test_an_os_error_in_a_plugin_stage_is_a_bug_not_an_output_problem(tmp_path: Path) -> None:
    result = dq_proc(
        "run", "--rules", _rules(tmp_path, "misbehaving.missing_file"), "--out", tmp_path / "out"
    )
    assert result.returncode == 3 and "FileNotFoundError" in result.stderr, result.stderr
    _no_leftovers(tmp_path)


def test_overwrite_never_deletes_files_dq_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert dq_proc("run", "--rules", STRICT, "--out", out, "--quiet").returncode == 1
    (out / "review").mkdir()
    (out / "review" / "decisions.jsonl").write_text('{"row_key": "x", "decision": "drop"}\n')
    again = dq_proc("run", "--rules", STRICT, "--out", out, "--quiet", "--overwrite")
    assert again.returncode == 2 and "holds files dq did not write (review/decisions.jsonl)" in again.stderr
    assert (out / "review" / "decisions.jsonl").is_file()
    (out / "review" / "decisions.jsonl").unlink()
    (out / "review").rmdir()
    rules = out / "mine.toml"
    rules.write_text(STRICT.read_text())
    inside = dq_proc("run", "--rules", rules, "--out", out, "--quiet", "--overwrite")
    assert inside.returncode == 2 and "the output folder holds an input" in inside.stderr
    assert rules.is_file()
    rules.unlink()
    assert dq_proc("run", "--rules", STRICT, "--out", out, "--quiet", "--overwrite").returncode == 1


def test_a_pipeline_that_ends_early_prints_what_ran(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text('pipeline = ["dq.load", "dq.curate", "dq.write"]\ncontamination = []\n')
    result = dq_proc("run", "--rules", rules, "--out", tmp_path / "out")
    assert result.returncode == 2 and "stage 'dq.write' needs split, train, val" in result.stderr
    rules.write_text('pipeline = ["dq.load", "dq.curate"]\ncontamination = []\n')
    result = dq_proc("run", "--rules", rules, "--out", tmp_path / "out2")
    assert result.returncode == 0, result.stderr
    assert "accepted" in result.stdout and "status" in result.stdout


def test_a_stale_temp_folder_of_a_killed_run_is_cleared(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".out.tmp-{dead.stdout.strip()}-abcd"
    stale.mkdir()
    (stale / "raw.jsonl").write_text("x" * 1000)
    result = dq_proc("run", "--rules", STRICT, "--out", tmp_path / "out", "--quiet")
    assert result.returncode == 1, result.stderr  # the demo's planted copies fail the gate
    assert not stale.exists() and (tmp_path / "out" / ".dq-output").is_file()


def _jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("input-is-a-folder", "is a folder"),
        ("out-is-cwd", "refusing to use the current folder"),
        ("out-under-a-file", "cannot write the output folder"),
        ("benchmark-is-a-folder", "benchmark file not found"),
        ("column-not-a-field", "'answer' is not a dq field"),
        ("column-not-in-input", "missing column 'questoin'"),
        ("overwrite-foreign-folder", "not a folder dq wrote"),
        ("input-inside-out", "the output folder holds an input"),
    ],
)
def test_usage_and_input_errors_exit_2_with_one_line(tmp_path: Path, case: str, expect: str) -> None:
    data = _jsonl(tmp_path / "in.jsonl", [{**GOOD_ROW, "problem_source": "gsm8k"}] * 3)
    bench = f"gsm8k={_jsonl(tmp_path / 'b.jsonl', [{'question': 'unrelated'}])}"
    out: Path = tmp_path / "out"
    args: list[str | Path] = ["--input", data, "--benchmark", bench]
    if case == "input-is-a-folder":
        args[1] = tmp_path
    elif case == "out-is-cwd":
        out = ROOT
    elif case == "out-under-a-file":
        out = data / "out"
    elif case == "benchmark-is-a-folder":
        args[3] = f"gsm8k={tmp_path}"
    elif case == "column-not-a-field":
        args += ["--column", "answer=expected_answer"]
    elif case == "column-not-in-input":
        args += ["--column", "problem=questoin"]
    elif case == "overwrite-foreign-folder":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        args += ["--overwrite"]
    elif case == "input-inside-out":
        out = tmp_path
        args += ["--overwrite"]
    result = dq_proc("run", "--rules", STRICT, "--out", out, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0] and "Traceback" not in result.stderr, result.stderr
    if case == "overwrite-foreign-folder":
        assert (out / "notes.txt").read_text() == "mine"
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_scan_of_a_missing_column_is_an_error_not_a_pass(tmp_path: Path) -> None:
    rows = _jsonl(tmp_path / "in.jsonl", [{"question": "What is 1+1?"}] * 4)
    bench = _jsonl(tmp_path / "b.jsonl", [{"question": "What is 1+1?"}])
    rules = tmp_path / "r.toml"
    rules.write_text('[[contamination]]\ncheck = "dq.exact"\n')
    base = ["scan", "--rules", rules, "--input", rows, "--benchmark", f"b={bench}", "--out", tmp_path / "s"]
    missing = dq_proc(*base)
    assert missing.returncode == 2 and "missing column 'problem'" in missing.stderr, missing.stderr
    found = dq_proc(*base, "--column", "problem=question")
    assert found.returncode == 1, found.stderr  # the four verbatim copies fail the gate
    assert len((tmp_path / "s/matches.jsonl").read_text().splitlines()) == 4
    nothing = dq_proc(*base[:-1], tmp_path / "s2", "--column", "problem=question", "--check", "dq.minhash")
    assert nothing.returncode == 2 and "no such check" in nothing.stderr, nothing.stderr
    assert not (tmp_path / "s2").exists()


def test_exit_codes_are_in_the_help() -> None:
    result = dq_proc("--help")
    assert result.returncode == 0
    for code in ("0", "1", "2", "3", "130"):
        assert re.search(rf"^\s+{code}\s+\w", result.stdout, flags=re.M), code


def test_a_closed_output_pipe_is_141_not_a_gate_failure() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dq", "rules", "schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before dq writes, as `| head` does after its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err


FULL_DISK = (
    "import errno, sys\n"
    "import dq.data.jsonl as jsonl\n"
    "def full(batches, line, path):\n"
    "    raise OSError(errno.ENOSPC, 'No space left on device', str(path))\n"
    "jsonl.write_batches = full\n"
    "from dq.cli.main import main\n"
    "sys.argv[0] = 'dq'\n"
    "main()\n"
)


def test_a_full_disk_is_one_line_naming_the_file_not_a_bug_report(tmp_path: Path) -> None:
    """ENOSPC while writing: exit 3 with one line saying so (no "please report it", no traceback
    file), and nothing left behind."""
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("dq-traceback-*"))
    proc = dq_proc("run", "--rules", STRICT, "--out", tmp_path / "out", "--quiet", driver=FULL_DISK)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("Error: no space left on the device while writing ")
    assert len(proc.stderr.strip().splitlines()) == 1 and "report" not in proc.stderr
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("dq-traceback-*")) == before
    _no_leftovers(tmp_path)
