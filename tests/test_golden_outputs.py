"""Pinned outputs: `dq run` on the demo and on a corpus built from ../shared/data.

The digests were taken before the code moved into its subject packages (issue "one plan, one
contract"); a change of layout must not change a byte. Paths that depend on the machine (the
checkout, ../shared, the temp folder) and the library versions in the manifest are masked first.
When an output changes on purpose, update the digest in the same commit and say why.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dq.testing.corpus import openmath_shaped
from tests.conftest import ROOT, SHARED
from tests.helpers import dq


def _masked(path: Path, masks: dict[str, str]) -> bytes:
    text = path.read_text(encoding="utf-8")
    for value, label in masks.items():
        text = text.replace(value, label)
    if path.name == "manifest.json":
        data = json.loads(text)
        data.pop("versions", None)
        data.pop("outputs", None)  # sha256 of files holding masked paths; each file is pinned itself
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
    return text.encode("utf-8")


def digests(out: Path, masks: dict[str, str]) -> dict[str, str]:
    """sha256 (first 16 hex) of every output file, machine-dependent strings masked."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(_masked(p, masks)).hexdigest()[:16]
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def _run(tmp_path: Path, rules: str, *args: str | Path, env: dict[str, str] | None = None) -> Path:
    out = tmp_path / "out"
    result = dq("run", "--rules", f"rules/{rules}", "--out", out, "--quiet", *args, env=env)
    assert result.exit_code in (0, 1), result.output
    return out


GOLDEN_FILE = Path(__file__).parent / "data" / "golden_digests.json"
GOLDEN: dict[str, dict[str, str]] = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("rules", ["strict.toml", "near.toml"])
def test_demo_outputs_are_pinned(rules: str, tmp_path: Path) -> None:
    out = _run(tmp_path, rules)
    assert digests(out, {str(tmp_path): "<TMP>"}) == GOLDEN[f"demo/{rules}"]


@pytest.mark.parametrize("rules", ["strict.toml", "near.toml"])
def test_shared_corpus_outputs_are_pinned(
    rules: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    openmath_shaped(4_000, shared_data, seed=11).write_ndjson(corpus)
    monkeypatch.setenv("DQ_BENCHMARK_DIR", str(shared_data))
    out = _run(tmp_path, rules, "--input", corpus)
    masks = {str(tmp_path): "<TMP>", str(shared_data): "<SHARED>", str(SHARED): "<SHARED>"}
    assert digests(out, masks) == GOLDEN[f"shared/{rules}"]
