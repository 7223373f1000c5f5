"""Known benchmarks offline: local copies under DQ_BENCHMARK_DIR, one fast error for the Hub, dq benchmarks.

No test touches the network: the Hub is switched off (HF_HUB_OFFLINE) or pointed at a local port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import dq

NEAR = ROOT / "rules" / "near.toml"
ROW = {
    "problem": "Tom has 3 apples and buys 4 more. How many apples does he have?",
    "generated_solution": "3 + 4 = 7, so \\boxed{7}.",
    "expected_answer": "7",
    "problem_source": "gsm8k",
}
PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
OFFLINE = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def _jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _input(tmp_path: Path) -> Path:
    rows = [
        {**ROW, "problem": f"Tom has {i} apples and buys 4 more. How many?", "expected_answer": str(i + 4)}
        for i in range(20)
    ]
    return _jsonl(tmp_path / "in.jsonl", rows)


def _bench_dir(tmp_path: Path, *names: str) -> Path:
    """A DQ_BENCHMARK_DIR holding small copies of ``names`` only."""
    root = tmp_path / "bench"
    root.mkdir(exist_ok=True)
    fields = {"gsm8k": "question", "math": "problem", "math500": "problem"}
    for name in names:
        _jsonl(root / name / "test.jsonl", [{fields[name]: "What is the sum of 17 and 25 apples?"}])
    return root


def _offline_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DQ_BENCHMARK_DIR"}
    env.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    env.update(extra)
    return env


def _dq_proc(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dq", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In-process: the Hub switched off, an empty Hugging Face cache, no DQ_BENCHMARK_DIR."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_DATASETS_CACHE", raising=False)
    monkeypatch.delenv("DQ_BENCHMARK_DIR", raising=False)


def test_benchmark_dir_lacking_a_file_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    root = _bench_dir(tmp_path, "gsm8k", "math500")
    monkeypatch.setenv("DQ_BENCHMARK_DIR", str(root))
    result = dq("validate", "--rules", NEAR, "--input", _input(tmp_path))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output  # gsm8k and math500 are there: only math is reported
    assert "benchmark 'math'" in lines[0] and str(root / "math" / "test.jsonl") in lines[0]
    assert f"dq benchmarks pull math --to {root}" in lines[0] and "--benchmark math=PATH" in lines[0]
    assert "hf:" not in result.output and "Traceback" not in result.output


def test_benchmark_dir_that_is_no_folder_is_an_error_for_every_known_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    monkeypatch.setenv("DQ_BENCHMARK_DIR", str(tmp_path / "bench-typo"))
    result = dq("validate", "--rules", NEAR, "--input", _input(tmp_path))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if "benchmark '" in line]
    assert [line.split("benchmark '")[1].split("'")[0] for line in lines] == ["gsm8k", "math", "math500"]
    assert all("is not a folder" in line and "bench-typo" in line for line in lines), lines


def test_benchmark_dir_with_every_file_validates_and_never_needs_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    monkeypatch.setenv("DQ_BENCHMARK_DIR", str(_bench_dir(tmp_path, "gsm8k", "math", "math500")))
    from dq.data.benchmarks import load_benchmarks, resolve_benchmark

    assert dq("validate", "--rules", NEAR, "--input", _input(tmp_path)).exit_code == 0
    from dq.api.schema import BenchmarkSpec

    specs = {n: resolve_benchmark(BenchmarkSpec(name=n)) for n in ("gsm8k", "math", "math500")}
    loaded = load_benchmarks(specs)
    assert {n: info["rows"] for n, (_, info) in loaded.items()} == {"gsm8k": 1, "math": 1, "math500": 1}


def test_benchmark_arg_replaces_a_file_missing_from_benchmark_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    monkeypatch.setenv("DQ_BENCHMARK_DIR", str(_bench_dir(tmp_path, "gsm8k", "math500")))
    mine = _jsonl(tmp_path / "math.jsonl", [{"problem": "Find x."}])
    result = dq("validate", "--rules", NEAR, "--input", _input(tmp_path), "--benchmark", f"math={mine}")
    assert result.exit_code == 0, result.output


def test_offline_run_names_every_hub_benchmark_at_once_fast_and_quiet(tmp_path: Path) -> None:
    start = time.perf_counter()
    proc = _dq_proc(
        "run",
        "--rules",
        NEAR,
        "--input",
        _input(tmp_path),
        "--out",
        tmp_path / "out",
        env=_offline_env(tmp_path),
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: benchmarks gsm8k, math, math500 need the "), lines
    assert (
        "HF_HUB_OFFLINE" in lines[0]
        and "DQ_BENCHMARK_DIR" in lines[0]
        and "--benchmark NAME=PATH" in lines[0]
    )
    assert "dq benchmarks pull gsm8k math math500 --to DIR" in lines[0]
    assert "hf:" not in proc.stderr and "Traceback" not in proc.stderr and "Retry" not in proc.stderr
    assert not (tmp_path / "out").exists()
    assert elapsed < 15, elapsed  # python, imports and the tiny pipeline; no Hub retries (~25 s)


def test_unreachable_hub_is_decided_by_one_fast_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    from dq.api.schema import BenchmarkSpec
    from dq.data.benchmarks import load_benchmarks, resolve_benchmark
    from dq.data.hub import hub_offline_reason
    from dq.errors import DqError

    for var in (*OFFLINE, *PROXIES):
        monkeypatch.delenv(var, raising=False)
    with socket.socket() as closed:  # a local port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"https://127.0.0.1:{port}")
    start = time.perf_counter()
    reason = hub_offline_reason()
    assert reason is not None and f"127.0.0.1:{port}" in reason
    specs = {n: resolve_benchmark(BenchmarkSpec(name=n)) for n in ("gsm8k", "math")}
    specs["mine"] = BenchmarkSpec(name="mine", hf="someone/data:test")
    with pytest.raises(DqError) as err:
        load_benchmarks(specs)
    assert time.perf_counter() - start < 2
    message = err.value.message
    assert (
        message.startswith("benchmarks gsm8k, math, mine need the Hugging Face Hub") and "\n" not in message
    )
    assert (
        "gsm8k/test.jsonl, math/test.jsonl (make one with 'dq benchmarks pull gsm8k math --to DIR'" in message
    )

    with socket.socket() as server:  # a port that answers: reachable
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("HF_ENDPOINT", f"https://127.0.0.1:{server.getsockname()[1]}")
        assert hub_offline_reason() is None
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        assert hub_offline_reason() == "offline: HF_HUB_OFFLINE is set"


def test_one_unreachable_benchmark_reads_in_the_singular(offline: None) -> None:
    from dq.data.benchmark_hub import hub_unreachable_message

    message = hub_unreachable_message({"mine": "someone/data:test"}, "offline: HF_HUB_OFFLINE is set")
    assert (
        message.startswith("benchmark mine needs the Hugging Face Hub") and "DQ_BENCHMARK_DIR" not in message
    )
    assert message.endswith("pass --benchmark NAME=PATH")


def test_benchmarks_list_shows_where_each_known_name_resolves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    root = _bench_dir(tmp_path, "gsm8k")
    monkeypatch.setenv("DQ_BENCHMARK_DIR", str(root))
    result = dq("benchmarks", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert list(rows) == ["gsm8k", "math", "math500"]
    assert rows["gsm8k"]["status"] == "local" and rows["gsm8k"]["location"] == str(root / "gsm8k/test.jsonl")
    assert rows["math"]["status"] == rows["math500"]["status"] == "missing"
    assert rows["math500"]["resolves"] == f"missing: {root / 'math500/test.jsonl'}"
    assert rows["gsm8k"]["hub"] == "hf:openai/gsm8k:main:test" and rows["gsm8k"]["field"] == "question"

    table = dq("benchmarks", "list")
    assert table.exit_code == 0 and f"local: {root / 'gsm8k/test.jsonl'}" in table.output
    assert f"dq benchmarks pull math math500 --to {root}" in table.output

    monkeypatch.delenv("DQ_BENCHMARK_DIR")
    rows = {row["name"]: row for row in json.loads(dq("benchmarks", "list", "--json").output)}
    assert {row["status"] for row in rows.values()} == {"hub"}
    assert rows["math500"]["resolves"] == "hub: hf:HuggingFaceH4/MATH-500:test"


def test_pull_offline_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = _dq_proc("benchmarks", "pull", "gsm8k", "math", "--to", tmp_path / "b", env=_offline_env(tmp_path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: benchmarks gsm8k, math need the Hugging Face Hub"
    ), lines
    assert "HF_HUB_OFFLINE" in lines[0] and proc.stdout == ""
    assert not (tmp_path / "b").exists()


def test_pull_unknown_name_suggests_the_known_one(tmp_path: Path, offline: None) -> None:
    result = dq("benchmarks", "pull", "gsm8kk", "--to", tmp_path / "b")
    assert result.exit_code == 2 and "unknown benchmark 'gsm8kk'; did you mean 'gsm8k'?" in result.output


_MAKE_CACHE = """
import sys
from pathlib import Path
import datasets, pyarrow as pa
ds = datasets.Dataset.from_dict({"question": ["What is 17 plus 25?", "What is 2+2?"], "answer": ["42", "4"]})
folder = Path(datasets.config.HF_DATASETS_CACHE) / "openai___gsm8k" / "main" / "0.0.0" / "fake"
folder.mkdir(parents=True)
ds.info.config_name, ds.info.dataset_name = "main", "gsm8k"
ds.info.splits = datasets.SplitDict({"test": datasets.SplitInfo("test", num_examples=2, dataset_name="gsm8k")})
ds.info.write_to_directory(str(folder))
with pa.OSFile(str(folder / "gsm8k-test.arrow"), "wb") as f, pa.ipc.new_stream(f, ds.data.table.schema) as w:
    w.write_table(ds.data.table)
"""


def test_offline_a_benchmark_in_the_datasets_cache_still_loads_and_pulls(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    env = _offline_env(tmp_path)
    subprocess.run([sys.executable, "-c", _MAKE_CACHE], env=env, check=True, timeout=120)

    # gsm8k is cached: only math and math500 need the Hub.
    run = _dq_proc("run", "--rules", NEAR, "--input", _input(tmp_path), "--out", tmp_path / "o", env=env)
    assert run.returncode == 2 and run.stderr.startswith("Error: benchmarks math, math500 need"), run.stderr

    root = tmp_path / "bench"
    pull = _dq_proc("benchmarks", "pull", "gsm8k", "--to", root, env=env)
    assert pull.returncode == 0, pull.stderr
    assert pull.stderr == "", pull.stderr  # no "Using the latest cached version" warnings
    target = root / "gsm8k" / "test.jsonl"
    assert pull.stdout.splitlines()[0] == f"gsm8k: 2 rows -> {target}"
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert rows == [
        {"question": "What is 17 plus 25?", "answer": "42"},
        {"question": "What is 2+2?", "answer": "4"},
    ]
    assert sorted(p.name for p in target.parent.iterdir()) == ["test.jsonl"]  # no temp file left

    target.write_text('{"question": "edited"}\n')
    again = _dq_proc("benchmarks", "pull", "gsm8k", "--to", root, env=env)
    assert again.returncode == 0 and "kept" in again.stdout and "edited" in target.read_text()
    forced = _dq_proc("benchmarks", "pull", "gsm8k", "--to", root, "--overwrite", env=env)
    assert forced.returncode == 0 and "edited" not in target.read_text()

    listed = _dq_proc("benchmarks", "list", "--json", env={**env, "DQ_BENCHMARK_DIR": str(root)})
    assert [r["status"] for r in json.loads(listed.stdout)] == ["local", "missing", "missing"]


def test_benchmark_answers_load_as_final_answers(tmp_path: Path) -> None:
    """GSM8K's ``#### x`` tail, a MATH solution's last box, a number as text; no field, no column."""
    from dq.api.schema import BenchmarkSpec
    from dq.data.benchmarks import load_benchmark

    gsm = _jsonl(tmp_path / "gsm.jsonl", [{"question": "Q1?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"},
                                          {"question": "Q2?", "answer": 42}])  # fmt: skip
    frame, info = load_benchmark(BenchmarkSpec(name="g", path=str(gsm)))
    assert frame["answer"].to_list() == ["7", "42"] and info["answer_field"] == "answer"
    math = _jsonl(
        tmp_path / "math.jsonl",
        [{"problem": "P?", "solution": "So $\\boxed{1}$, no: $\\boxed{\\frac{1}{2}}$."}],
    )
    frame, info = load_benchmark(BenchmarkSpec(name="m", path=str(math)))
    assert frame["answer"].to_list() == ["\\frac{1}{2}"] and info["answer_field"] == "solution"
    bare = _jsonl(tmp_path / "bare.jsonl", [{"question": "Q?"}])
    frame, info = load_benchmark(BenchmarkSpec(name="b", path=str(bare)))
    assert "answer" not in frame.columns and "answer_field" not in info


def test_real_benchmarks_carry_an_answer_for_every_item(shared_data: Path) -> None:
    """What dq.semantic's answer agreement needs: every GSM8K and MATH-500 item, nearly every MATH one."""
    from dq.api.schema import BenchmarkSpec
    from dq.data.benchmarks import load_benchmark

    for name, least in (("gsm8k", 1.0), ("math500", 1.0), ("math", 0.99)):
        frame, _ = load_benchmark(BenchmarkSpec(name=name, path=str(shared_data / name / "test.jsonl")))
        answers = frame["answer"]
        assert answers.drop_nulls().len() >= least * frame.height, name
    gsm, _ = load_benchmark(BenchmarkSpec(name="gsm8k", path=str(shared_data / "gsm8k" / "test.jsonl")))
    assert gsm["answer"][0] == "18"  # Janet's ducks
