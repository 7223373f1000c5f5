"""The example plugin package (plugins/dq-mathx), installed as a real distribution, works in a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import dq

pytest.importorskip("dq_mathx", reason="plugins/dq-mathx is not installed (pip install -e plugins/dq-mathx)")


def test_plugin_rule_is_listed_with_its_distribution() -> None:
    result = dq("rules", "list", "--json")
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["mathx.numeric_answer"]["plugin"] == "dq-mathx"
    plugins = json.loads(dq("plugins", "list", "--json").output)
    assert any(p["name"] == "dq-mathx" and p["rules"] == ["MX001"] for p in plugins)


def test_rule_set_uses_the_plugin_rule(tmp_path: Path) -> None:
    rows = [
        {
            "problem": f"What is {i}+1?",
            "generated_solution": f"\\boxed{{{i + 1:,}}}",
            "expected_answer": f"{i + 1:,}",
            "problem_source": "gsm8k",
        }
        for i in range(995, 1010)
    ]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    bench = tmp_path / "b.jsonl"
    bench.write_text('{"question": "unrelated"}\n')
    result = dq(
        "run",
        "--rules",
        ROOT / "rules/strict_mathx.toml",
        "--input",
        tmp_path / "in.jsonl",
        "--benchmark",
        f"gsm8k={bench}",
        "--out",
        tmp_path / "o",
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "o/manifest.json").read_text())
    assert manifest["reject_reasons"] == {"gsm8k:non_numeric_answer": 11}  # labels 1,000 ... 1,010
