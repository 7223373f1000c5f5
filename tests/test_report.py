"""``dq report``: every report of a finished run folder rebuilt from what the folder holds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dq.data.demo import demo_benchmark, demo_rows
from tests.conftest import ROOT
from tests.helpers import dq

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _run(out: Path, *args: str | Path) -> int:
    result = dq("run", "--out", out, "--quiet", *args, env=EPOCH)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the runs record rules/*.toml relative to the checkout


@pytest.mark.parametrize(
    "args",
    [("rules/strict.toml",), ("rules/near.toml",), ("rules/strict.toml", "--contamination-action", "drop")],
    ids=["strict", "near", "strict-drop"],
)
def test_report_rebuilds_every_report_byte_for_byte(args: tuple[str, ...], tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = _run(out, "--rules", *args)
    before = files(out)
    assert "raw/index.jsonl" in json.loads(before["manifest.json"])["outputs"]
    shutil.rmtree(out / "reports")
    result = dq("report", out, "--quiet", env=EPOCH)
    assert result.exit_code == code, result.output
    assert files(out) == before  # reports/* and the manifest (their sha256 included) as dq run wrote them


def test_a_changed_or_missing_rule_set_is_one_line_and_nothing_changes(tmp_path: Path) -> None:
    rules = tmp_path / "mine.toml"
    shutil.copy(ROOT / "rules/strict.toml", rules)
    out = tmp_path / "out"
    _run(out, "--rules", rules)
    before = files(out)
    rules.write_text(rules.read_text() + "\n# edited\n")
    result = dq("report", out, env=EPOCH)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(f"Error: {rules}: rule set changed since the run (sha256 ")
    assert f"pass --rules {rules} to use it as it is now" in result.output
    assert files(out) == before
    result = dq("report", out, "--rules", rules, "--quiet", env=EPOCH)
    assert result.exit_code == 1, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rule_set"]["sha256"] != json.loads(before["manifest.json"])["rule_set"]["sha256"]
    rules.unlink()
    before = files(out)
    result = dq("report", out, env=EPOCH)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "rule set recorded in" in result.output and "not found" in result.output
    assert "pass --rules RULES" in result.output and files(out) == before


def test_an_edited_or_older_run_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(out, "--rules", "rules/strict.toml")
    train = out / "raw/train.jsonl"
    train.write_bytes(train.read_bytes()[: -len(train.read_bytes().splitlines(keepends=True)[-1])])
    before = files(out)
    result = dq("report", out, env=EPOCH)
    assert result.exit_code == 2 and "raw/train.jsonl: sha256 differs" in result.output
    assert files(out) == before
    shutil.rmtree(out)
    _run(out, "--rules", "rules/strict.toml")
    (out / "raw/index.jsonl").unlink()
    result = dq("report", out, env=EPOCH)
    assert result.exit_code == 2 and "raw/index.jsonl: missing (written by a dq without it" in result.output
    assert dq("report", tmp_path / "nowhere", env=EPOCH).exit_code == 2


def _file_run(tmp_path: Path, *args: str) -> Path:
    """The demo corpus as an input file, gated against the demo benchmark as a file named gsm8k."""
    data, bench = tmp_path / "in.jsonl", tmp_path / "bench.jsonl"
    demo_rows().rename({"source": "problem_source"}).write_ndjson(data)
    demo_benchmark().select("question").write_ndjson(bench)
    out = tmp_path / "out"
    _run(out, "--rules", "rules/strict.toml", "--input", data, "--benchmark", f"gsm8k={bench}", *args)
    return out


def test_report_gates_against_recorded_and_added_benchmarks(tmp_path: Path) -> None:
    out = _file_run(tmp_path)
    before = files(out)
    result = dq("report", out, "--quiet", env=EPOCH)  # the run's gsm8k file, read from the manifest
    assert result.exit_code == 1 and files(out) == before, result.output
    row = json.loads((out / "raw/val.jsonl").read_text().splitlines()[0])
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"problem": row["problem"]}) + "\n")
    result = dq("report", out, "--benchmark", f"extra={extra}", "--quiet", env=EPOCH)
    assert result.exit_code == 1, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["benchmarks"]) == ["gsm8k", "extra"]
    report = json.loads((out / "reports/contamination.json").read_text())
    assert report["benchmarks"]["extra"]["overlap_count"] >= 1
    matches = [
        json.loads(line) for line in (out / "reports/contamination_matches.jsonl").read_text().splitlines()
    ]
    assert row["row_id"] in {m["row_id"] for m in matches if m["benchmark"] == "extra"}
    assert {k: v for k, v in files(out).items() if not k.startswith("reports/") and k != "manifest.json"} == {
        k: v for k, v in before.items() if not k.startswith("reports/") and k != "manifest.json"
    }


def test_report_never_drops_rows_the_folder_holds(tmp_path: Path) -> None:
    out = _file_run(tmp_path, "--contamination-action", "drop")
    row = json.loads((out / "raw/train.jsonl").read_text().splitlines()[0])
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"question": row["problem"]}) + "\n")
    before = files(out)
    result = dq("report", out, "--benchmark", f"extra={extra}", env=EPOCH)
    assert result.exit_code == 2 and "dq report never changes data" in result.output
    assert files(out) == before


def test_report_keeps_files_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(out, "--rules", "rules/strict.toml")
    assert dq("review", "export", out, "--per-source", "2", "--per-rule", "1").exit_code == 0
    (out / "reports/notes.txt").write_text("mine\n")
    before = files(out)
    result = dq("report", out, "--quiet", env=EPOCH)
    assert result.exit_code == 1, result.output
    assert files(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left
