"""Bad input: one clear line naming file/line/field/TOML path, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import STRICT
from tests.helpers import dq

GOOD = {
    "problem": "What is 1+1?",
    "generated_solution": "So \\boxed{2}.",
    "expected_answer": "2",
    "problem_source": "gsm8k",
}


@pytest.fixture(autouse=True)
def _local_gsm8k(local_gsm8k_dir: Path) -> Path:
    """strict.toml's gsm8k benchmark from a local folder: these tests are about the input."""
    return local_gsm8k_dir


def _write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _fails_cleanly(tmp_path: Path, *args: str | Path, expect: str) -> str:
    out = tmp_path / "out"
    result = dq("run", "--rules", STRICT, "--out", out, *args)
    assert result.exit_code == 2, result.output
    assert expect in result.output, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    return result.output


@pytest.mark.parametrize(
    ("rows", "expect"),
    [
        ([GOOD, '{"problem": "x", "generated_solution": ', GOOD], "in.jsonl:2: malformed JSON"),
        (
            [GOOD, {**GOOD, "expected_answer": 4}],
            "in.jsonl:2: field 'expected_answer' (expected_answer) must be a string, got int",
        ),
        (
            [GOOD, {k: v for k, v in GOOD.items() if k != "problem"}],
            "in.jsonl:2: field 'problem' (problem) must be a string, got missing",
        ),
        ([GOOD, {**GOOD, "problem": None}], "in.jsonl:2: field 'problem'"),
        ([GOOD, "[1, 2]"], "in.jsonl:2: expected a JSON object"),
    ],
    ids=["malformed-line", "wrong-type", "missing-field", "null-field", "not-an-object"],
)
def test_bad_jsonl_rows(tmp_path: Path, rows: list[object], expect: str) -> None:
    _fails_cleanly(tmp_path, "--input", _write_jsonl(tmp_path / "in.jsonl", rows), expect=expect)


def test_misnamed_column_names_it_and_suggests(tmp_path: Path) -> None:
    row = {**{k: v for k, v in GOOD.items() if k != "generated_solution"}, "generated_solutions": "x"}
    out = _fails_cleanly(
        tmp_path,
        "--input",
        _write_jsonl(tmp_path / "in.jsonl", [row]),
        expect="missing column 'generated_solution'",
    )
    assert "did you mean 'generated_solutions'" in out and "--column" in out


def test_column_mapping_fixes_a_misnamed_column(tmp_path: Path) -> None:
    row = {**{k: v for k, v in GOOD.items() if k != "problem"}, "question": "What is 1+1?"}
    path = _write_jsonl(tmp_path / "in.jsonl", [row] * 30)
    bench = _write_jsonl(tmp_path / "b.jsonl", [{"question": "unrelated"}])
    result = dq(
        "run",
        "--rules",
        STRICT,
        "--input",
        path,
        "--column",
        "problem=question",
        "--benchmark",
        f"gsm8k={bench}",
        "--out",
        tmp_path / "o",
    )
    assert result.exit_code == 0, result.output


def test_empty_input(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text("")
    _fails_cleanly(tmp_path, "--input", tmp_path / "in.jsonl", expect="empty input")


def test_missing_input_file(tmp_path: Path) -> None:
    _fails_cleanly(tmp_path, "--input", tmp_path / "nope.jsonl", expect="nope.jsonl: no such input file")


def test_unreadable_parquet(tmp_path: Path) -> None:
    (tmp_path / "in.parquet").write_bytes(b"not parquet at all")
    _fails_cleanly(tmp_path, "--input", tmp_path / "in.parquet", expect="in.parquet: cannot read")


def test_parquet_with_wrong_type(tmp_path: Path) -> None:
    import polars as pl

    pl.DataFrame({**{k: [v] for k, v in GOOD.items()}, "expected_answer": [2]}).write_parquet(
        tmp_path / "in.parquet"
    )
    _fails_cleanly(
        tmp_path,
        "--input",
        tmp_path / "in.parquet",
        expect="column 'expected_answer' must hold strings, found Int64",
    )


def test_benchmark_without_the_named_field(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "in.jsonl", [GOOD] * 5)
    bench = _write_jsonl(tmp_path / "b.jsonl", [{"prompt": "x"}])
    _fails_cleanly(
        tmp_path, "--input", path, "--benchmark", f"gsm8k={bench}#questoin", expect="no field 'questoin'"
    )


def _rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _config_error(tmp_path: Path, text: str, expect: str) -> None:
    result = dq("run", "--rules", _rules(tmp_path, text), "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert expect in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_invalid_toml(tmp_path: Path) -> None:
    _config_error(tmp_path, "version = 1\n[[rules]\n", "r.toml: invalid TOML")


def test_unknown_top_level_key_suggests(tmp_path: Path) -> None:
    _config_error(
        tmp_path, "version = 1\n[splitt]\nseed = 1\n", "r.toml: splitt: unknown key; did you mean 'split'?"
    )


def test_unknown_rule_suggests(tmp_path: Path) -> None:
    _config_error(
        tmp_path,
        '[[rules]]\nrule = "dq.missing_boxx"\n',
        "rules[0]: unknown rule 'dq.missing_boxx'; did you mean 'dq.missing_box'?",
    )


def test_unknown_rule_param_names_toml_path(tmp_path: Path) -> None:
    _config_error(
        tmp_path,
        '[[rules]]\nrule = "dq.phrases"\nphrases = {a = "x"}\ncolum = "problem"\n',
        "rules[0].colum (rule 'dq.phrases'): unknown parameter; did you mean 'column'?",
    )


def test_bad_regex_names_pattern_and_error(tmp_path: Path) -> None:
    _config_error(
        tmp_path,
        "[[rules]]\nrule = \"dq.regexes\"\npatterns = { bad = '(new problem' }\n",
        "pattern 'bad' = '(new problem' is not a valid regex: missing ), unterminated subpattern",
    )


def test_bad_split_option(tmp_path: Path) -> None:
    result = dq("run", "--rules", _rules(tmp_path, "[split]\nval_ratio = 2\n"), "--out", tmp_path / "out")
    assert result.exit_code == 2 and "split.val_ratio" in result.output


def test_validate_command(tmp_path: Path) -> None:
    assert dq("validate", "--rules", STRICT).exit_code == 0
    assert dq("validate", "--rules", _rules(tmp_path, '[[rules]]\nrule = "nope"\n')).exit_code == 2


def test_sql_rule_error_is_one_line(tmp_path: Path) -> None:
    _config_error(
        tmp_path,
        '[[rules]]\nrule = "dq.sql"\nwhere = "no_such_column > 1"\n',
        "rules[0] (rule 'dq.sql'): DuckDB cannot compile the predicate 'no_such_column > 1'",
    )


def test_unreachable_hub_input_is_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    pytest.importorskip("datasets")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dq",
            "run",
            "--rules",
            str(STRICT),
            "--input",
            "hf:nvidia/OpenMathInstruct-2:train_1M",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: hf:nvidia/OpenMathInstruct-2:train_1M: cannot load"
    ), lines
    assert not (tmp_path / "out").exists()
