"""Engine-free partition equivalence: dq's steps computed partition by partition equal the local engine's.

Input split 1, 3 and 7 ways; band-key groups hash-partitioned 1, 4 and 16 ways; on the demo corpus
and on an OpenMath-shaped corpus built from real GSM8K/MATH text. No Ray here: these are the
functions the Ray engine ships to its workers (:mod:`dq.engine.partition`).
"""

from __future__ import annotations

import filecmp
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dq.contamination import leakage
from dq.contamination.near import MinHashCheck
from dq.data.benchmarks import load_benchmarks
from dq.data.reader import read_input
from dq.engine import SerialEngine, using
from dq.engine import partition as part
from dq.pipeline.curation import apply_rules, with_row_ids
from dq.pipeline.execute import run_pipeline
from dq.pipeline.plan import RunOptions, build_plan
from dq.plugins import make_plugin_manager
from dq.split.grouped import group_ids
from dq.testing.corpus import openmath_shaped
from dq.text.vector import with_canonical
from tests.conftest import ROOT

NEAR = ROOT / "rules" / "near.toml"
SPLITS, PARTS = (1, 3, 7), (1, 4, 16)


def same_folders(left: Path, right: Path) -> list[str]:
    """Paths whose bytes differ between two run folders (or exist in one only)."""
    a = sorted(p.relative_to(left) for p in left.rglob("*") if p.is_file())
    b = sorted(p.relative_to(right) for p in right.rglob("*") if p.is_file())
    if a != b:
        return [str(p) for p in set(a) ^ set(b)]
    return [str(p) for p in a if not filecmp.cmp(left / p, right / p, shallow=False)]


class CountingEngine(SerialEngine):
    """The serial engine, noting each step it ran (so a test sees the wiring was used)."""

    def __init__(self, splits: int, parts: int) -> None:
        super().__init__(splits, parts)
        self.calls: set[str] = set()

    def curate(self, *args: Any) -> Any:
        self.calls.add("curate")
        return super().curate(*args)

    def near_components(self, *args: Any) -> Any:
        self.calls.add("near_components")
        return super().near_components(*args)

    def find(self, *args: Any) -> Any:
        self.calls.add("find")
        return super().find(*args)


class Corpus:
    """A plan, its rows, the local curation, the curated canonical problems and the benchmarks."""

    def __init__(self, plan: Any, rows: pl.DataFrame) -> None:
        self.plan, self.rows = plan, rows
        self.result = apply_rules(rows, plan.rules, plan.skip_rules)
        self.curated = self.result.accepted.with_row_index("pos")
        self.canonical = with_canonical(self.result.accepted)["canonical"]
        self.bench = {name: frame for name, (frame, _) in load_benchmarks(plan.benchmarks).items()}


@pytest.fixture(scope="module")
def demo(registry: Any) -> Corpus:
    plan = build_plan(NEAR, registry)
    return Corpus(plan, read_input(None, plan.columns)[0])


@pytest.fixture(scope="module")
def openmath(registry: Any, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    path = tmp_path_factory.mktemp("openmath") / "openmath.parquet"
    openmath_shaped(6000, shared_data, seed=7).write_parquet(path)
    with pytest.MonkeyPatch.context() as patch:  # near.toml's gsm8k, math and math500: real test sets
        patch.setenv("DQ_BENCHMARK_DIR", str(shared_data))
        plan = build_plan(NEAR, registry, RunOptions(str(path)))
        return Corpus(plan, read_input(plan.input_spec, plan.columns, strict=plan.strict_columns)[0])


@pytest.fixture(params=["demo", "openmath"])
def corpus(request: pytest.FixtureRequest) -> Iterator[Corpus]:
    yield request.getfixturevalue(request.param)


@pytest.mark.parametrize("splits", SPLITS)
def test_curation_equals_local(corpus: Corpus, splits: int) -> None:
    got = part.curate_parts(corpus.rows, corpus.plan.rules, corpus.plan.skip_rules, splits)
    assert corpus.result.rejected.height > 0 and corpus.result.verdicts.height > 0  # traps were caught
    for field in ("considered", "accepted", "rejected", "verdicts"):
        assert getattr(got, field).equals(getattr(corpus.result, field)), field


def test_near_components_equal_local(corpus: Corpus) -> None:
    want = leakage.near_components(corpus.canonical, 0.7)
    assert want["component"].n_unique() < want.height  # some problems are near-duplicates
    for splits in SPLITS:
        for parts in PARTS:
            got = part.near_components_parts(corpus.canonical, 0.7, splits, parts)
            assert got.equals(want), (splits, parts)


def test_leakage_gate_and_split_equal_local(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    accepted = with_canonical(with_row_ids(corpus.result.accepted))
    val = accepted.filter(pl.int_range(accepted.height) % 10 == 0)  # a split that leaks on purpose
    train = accepted.filter(pl.int_range(accepted.height) % 10 != 0)
    want_overlap = leakage.near_overlap(train, val, 0.7)
    want_groups = group_ids(accepted, ["gsm8k", "math"], 0.7)
    assert want_overlap["val_row_count"] > 0
    monkeypatch.setattr(leakage, "near_components", SerialEngine(7, 16).near_components)
    assert leakage.near_overlap(train, val, 0.7) == want_overlap
    got_groups = group_ids(accepted, ["gsm8k", "math"], 0.7)
    assert got_groups[1] == want_groups[1] and got_groups[0].equals(want_groups[0])


def test_minhash_matches_equal_local(corpus: Corpus) -> None:
    bound = next(b for b in corpus.plan.checks if b.name == "dq.minhash")
    # Every partition signs the benchmarks again: MATH test's 5,000 items would dominate the test.
    bench = {name: corpus.bench[name] for name in bound.benchmarks if name != "math"}
    for batch_size in (100_000, 500):  # one batch, and several (the order of matches follows them)
        check = MinHashCheck(bound.check.options.model_copy(update={"batch_size": batch_size}))
        want = check.find(corpus.curated, bench)
        assert want.height > 0
        for splits in SPLITS:
            assert part.find_parts(check, corpus.curated, bench, splits).equals(want), (batch_size, splits)


def test_run_folder_byte_identical(
    demo: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Any
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pm = make_plugin_manager()[0]
    local, _ = run_pipeline(pm, registry, NEAR, out_dir=tmp_path / "local")
    counting = CountingEngine(splits=3, parts=4)
    with using(counting):  # what `dq run --engine ...` does around the pipeline
        engine, _ = run_pipeline(pm, registry, NEAR, out_dir=tmp_path / "engine")
    assert counting.calls == {"curate", "near_components", "find"}
    assert local.exit_code == engine.exit_code == 1  # the demo's planted copies fail the gate
    assert same_folders(tmp_path / "local", tmp_path / "engine") == []
