"""One plan: whatever `dq run` rejects for a configuration reason, `dq validate` rejects the same way.

Each broken rule set below is given to both commands. `dq run` points at an input file that does
not exist, so a run that read data before checking its configuration would report the input
instead. Both must print the same lines (file and TOML path), exit 2, and write nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import dq

BASE = '[[benchmarks]]\nname = "gsm8k"\n'
BROKEN = {
    "unknown-check": (
        '[[contamination]]\ncheck = "dq.exakt"\n',
        "contamination[0]: unknown contamination check 'dq.exakt'; did you mean 'dq.exact'?",
    ),
    "unknown-splitter": (
        '[split]\nsplitter = "dq.groupd"\n',
        "split: unknown splitter 'dq.groupd'; did you mean 'dq.grouped'?",
    ),
    "unknown-reporter": ('reports = ["dq.summary"]\n', "reports[0]: unknown reporter 'dq.summary'"),
    "unknown-stage": (
        'pipeline = ["dq.load", "dq.curat", "dq.split", "dq.gate", "dq.write"]\n',
        "pipeline[1]: unknown stage 'dq.curat'; did you mean 'dq.curate'?",
    ),
    "val-ratio": ("[split]\nval_ratio = 1.5\n", "split.val_ratio: Input should be less than 1"),
    "sql-does-not-compile": (
        '[[rules]]\nrule = "dq.sql"\nwhere = "no_such_column > 1"\n',
        "rules[0] (rule 'dq.sql'): DuckDB cannot compile the predicate",
    ),
    "unknown-benchmark": (
        '[[benchmarks]]\nname = "gsm8kk"\n',
        "benchmarks[0]: benchmark 'gsm8kk': give a path or hf spec, or use a known name",
    ),
    "pipeline-order": (
        'pipeline = ["dq.load", "dq.split", "dq.curate", "dq.gate", "dq.write"]\n',
        "pipeline[1]: stage 'dq.split' needs accepted, which no earlier stage provides",
    ),
    "unknown-param": (
        '[[rules]]\nrule = "dq.phrases"\nphrases = {a = "x"}\ncolum = "problem"\n',
        "rules[0].colum (rule 'dq.phrases'): unknown parameter; did you mean 'column'?",
    ),
    "bad-regex": (
        "[[rules]]\nrule = \"dq.regexes\"\npatterns = { bad = '(new problem' }\n",
        "pattern 'bad' = '(new problem' is not a valid regex",
    ),
    "unknown-key": ("[splitt]\nseed = 1\n", "splitt: unknown key; did you mean 'split'?"),
    "unknown-check-option": (
        '[[contamination]]\ncheck = "dq.minhash"\nthresold = 0.5\n',
        "contamination[0].thresold: unknown key; did you mean 'threshold'?",
    ),
    "check-benchmark-filter": (
        '[[contamination]]\ncheck = "dq.exact"\nbenchmarks = ["math"]\n',
        "contamination[0].benchmarks: unknown benchmark 'math'",
    ),
    "duplicate-benchmark": (
        '[[benchmarks]]\nname = "gsm8k"\n',
        "benchmarks[1].name: a second benchmark named 'gsm8k'",
    ),
    "no-gate-stage": (
        'pipeline = ["dq.load", "dq.curate", "dq.split", "dq.write"]\n',
        "pipeline: contamination checks are configured but no stage runs them",
    ),
    "skip-after-reject": (
        '[[rules]]\nrule = "dq.missing_box"\n[[rules]]\nrule = "dq.column_in"\naction = "skip"\ncolumn = "source"\nvalues = ["gsm8k"]\n',
        "rules[1].action: a skip rule after a reject rule (rules[0]) would drop rows without a trace",
    ),
    "check-field-typo": (
        '[[contamination]]\ncheck = "dq.exact"\nfield = "problm"\n',
        "contamination[0].field: 'problm' is not a dq row field",
    ),
    "rule-column-typo": (
        '[[rules]]\nrule = "dq.phrases"\nphrases = {a = "x"}\ncolumn = "solution"\n',
        "rules[0].column (rule 'dq.phrases'): 'solution' is not a dq row field",
    ),
    "bands-over-num-perm": (
        '[[contamination]]\ncheck = "dq.minhash"\nnum_perm = 16\nbands = 32\n',
        "bands (32) must not exceed num_perm (16)",
    ),
    "duplicate-reason": (
        '[[rules]]\nrule = "dq.missing_box"\n[[rules]]\nrule = "dq.missing_box"\n',
        "rules[1]: reject reason 'missing_box' already used by rules[0]",
    ),
}


@pytest.fixture(autouse=True)
def _local_gsm8k(local_gsm8k_dir: Path) -> Path:
    return local_gsm8k_dir


def _both(tmp_path: Path, text: str) -> tuple[list[str], list[str]]:
    rules = tmp_path / "r.toml"
    rules.write_text(text, encoding="utf-8")
    missing_input = tmp_path / "no-such-input.jsonl"
    validate = dq("validate", "--rules", rules, "--input", missing_input)
    run = dq("run", "--rules", rules, "--input", missing_input, "--out", tmp_path / "out")
    assert validate.exit_code == 2 and run.exit_code == 2, (validate.output, run.output)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r.toml"]
    return validate.output.splitlines(), run.output.splitlines()


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_and_run_reject_the_same_way_before_reading_data(tmp_path: Path, case: str) -> None:
    body, expect = BROKEN[case]
    validate, run = _both(tmp_path, body + BASE)
    assert validate == run
    assert len(validate) == 1 and validate[0].startswith(f"Error: {tmp_path / 'r.toml'}: "), validate
    assert expect in validate[0]


def test_train_and_eval_names_are_checked_with_the_plan(tmp_path: Path) -> None:
    body = (
        'pipeline = ["dq.load", "dq.curate", "dq.split", "dq.gate", "dq.render", "dq.train", '
        '"dq.evaluate", "dq.write"]\n[train]\nbackend = "dq.locl"\nrenderer = "dq.chat_templat"\n'
        '[eval]\nevaluator = "dq.gsm8"\n'
    )
    validate, run = _both(tmp_path, body + BASE)
    assert validate == run
    text = "\n".join(validate)
    for where in (
        "train.model: a base model is required",
        "train.backend: unknown",
        "train.renderer: unknown",
    ):
        assert where in text, validate
    assert "eval.evaluator: unknown evaluator 'dq.gsm8'; did you mean 'dq.gsm8k'?" in text, validate


def test_every_problem_of_a_rule_set_is_reported_at_once(tmp_path: Path) -> None:
    body = "".join(BROKEN[c][0] for c in ("unknown-stage", "val-ratio", "unknown-param", "unknown-check"))
    validate, run = _both(tmp_path, body + BASE)
    assert validate == run and len(validate) == 4
    for case, line in zip(
        ("unknown-param", "unknown-stage", "unknown-check", "val-ratio"), sorted(validate), strict=False
    ):
        assert any(BROKEN[case][1] in v for v in validate), (case, line)


def test_validate_without_input_still_checks_benchmark_names(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text('[[benchmarks]]\nname = "gsm8kk"\n')
    result = dq("validate", "--rules", rules)  # no --input: the demo, whose own benchmark is used
    assert result.exit_code == 2 and "benchmark 'gsm8kk'" in result.output


def test_a_valid_rule_set_validates_and_names_what_it_planned(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text(BASE)
    result = dq("validate", "--rules", rules)
    assert result.exit_code == 0 and "ok (0 rules, 1 contamination checks, 7 stages)" in result.output


def test_column_mapping_onto_no_dq_field_is_rejected_by_validate_too(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text(BASE + '[input]\ncolumns = { answer = "expected" }\n')
    result = dq("validate", "--rules", rules, "--column", "solution=generated")
    assert result.exit_code == 2
    assert "input.columns.answer: 'answer' is not a dq field" in result.output
    assert "--column solution=generated: 'solution' is not a dq field" in result.output
