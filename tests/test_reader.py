"""The one batch reader: rows of any size, the same errors for inputs and benchmarks, every command."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dq.data.reader import read_rows
from dq.errors import DqError
from tests.conftest import STRICT
from tests.helpers import dq

ROW = {
    "problem": "What is 1+1?",
    "generated_solution": "So \\boxed{2}.",
    "expected_answer": "2",
    "source": "gsm8k",
}


def test_a_64_mb_jsonl_row_reads_like_any_other(tmp_path: Path) -> None:
    huge = "step. " * (64 * 1024 * 1024 // 6) + "\\boxed{2}"
    path = tmp_path / "in.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(ROW) + "\n")
        fh.write(json.dumps({**ROW, "generated_solution": huge}) + "\n")
        fh.write(json.dumps({**ROW, "problem": "last"}) + "\n")
    rows, count = read_rows(str(path), {})
    assert count == 3 and rows["row_index"].to_list() == [0, 1, 2]
    assert rows["generated_solution"][1] == huge and rows["problem"][2] == "last"


@pytest.mark.parametrize(
    ("lines", "expect"),
    [
        ('{"question": "a"}\n{"question": "b"}\n{"question": \n', ":3: malformed JSON"),
        ('{"question": "a"}\n{"question": 7}\n', ":2: field 'question'"),
        ("", ": empty input"),
    ],
    ids=["malformed-line", "not-text", "empty"],
)
def test_a_bad_benchmark_file_is_named_with_its_line(tmp_path: Path, lines: str, expect: str) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({**ROW, "problem_source": "gsm8k"}) + "\n")
    bench = tmp_path / "b.jsonl"
    bench.write_text(lines)
    result = dq(
        "run", "--rules", STRICT, "--input", data, "--benchmark", f"gsm8k={bench}", "--out", tmp_path / "o"
    )
    assert result.exit_code == 2 and f"{bench}{expect}" in result.output, result.output


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_every_format_gives_the_same_rows_and_mapping(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame([{**ROW, "problem": f"q{i}", "question_text": f"q{i}"} for i in range(5)])
    path = tmp_path / f"in{suffix}"
    {".jsonl": frame.write_ndjson, ".parquet": frame.write_parquet, ".csv": frame.write_csv}[suffix](path)
    rows, count = read_rows(str(path), {"problem": "question_text"}, strict=frozenset({"problem"}))
    assert count == 5 and rows["problem"].to_list() == [f"q{i}" for i in range(5)]
    with pytest.raises(DqError, match="missing column 'questoin'"):
        read_rows(str(path), {"problem": "questoin"}, strict=frozenset({"problem"}))


FIELD = st.one_of(st.text(max_size=30), st.integers(), st.none(), st.lists(st.integers(), max_size=2))
LINE = st.one_of(
    st.fixed_dictionaries(
        {"problem": FIELD, "generated_solution": FIELD, "expected_answer": FIELD, "problem_source": FIELD}
    ).map(json.dumps),
    st.text(max_size=40),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)
RULE_LINES = st.lists(
    st.sampled_from(
        [
            '[[rules]]\nrule = "dq.missing_box"\n',
            "[[rules]]\nrule = \"dq.regexes\"\npatterns = { p = '(a+)+$' }\n",
            "[[rules]]\nrule = \"dq.phrases\"\nphrases = { x = 'so' }\n",
            "[split]\nval_ratio = 0.5\n",
            "[split]\nval_ratio = 5\n",
            '[[contamination]]\ncheck = "dq.minhash"\nthreshold = 0.3\n',
            '[[contamination]]\ncheck = "dq.exact"\naction = "drop"\n',
            '[leakage]\naction = "warn"\n',
            '[[rules]]\nrule = "dq.nope"\n',
            "[[rules\n",
        ]
    ),
    max_size=4,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, max_size=6), rule_lines=RULE_LINES)
def test_any_input_and_rule_set_exit_0_1_or_2_and_never_leave_a_partial_folder(
    tmp_path: Path, lines: list[str], rule_lines: list[str]
) -> None:
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    data = case / "in.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    bench = case / "b.jsonl"
    bench.write_text(json.dumps({"question": "What is 1+1?"}) + "\n")
    rules = case / "r.toml"
    rules.write_text('[[benchmarks]]\nname = "b"\npath = "' + str(bench) + '"\n' + "".join(rule_lines))
    out = case / "out"
    result = dq("run", "--rules", rules, "--input", data, "--out", out, "--quiet")  # raises on a bug
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert not out.exists()
    else:
        assert (out / "manifest.json").is_file() and (out / ".dq-output").is_file()
    assert [p.name for p in case.iterdir() if p.name.startswith(".")] == []
