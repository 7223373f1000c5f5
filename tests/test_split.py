"""The near-duplicate split: one component definition with the leakage gate, and its val share.

The split groups rows by the MinHash components the leakage gate recomputes on train + val, so a
near-duplicate split passes its own gate by construction; the fill keeps each source's val share
near ``val_ratio``; the summary and manifest carry the share, and a miss of more than 2 points
is a warning naming the largest components.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dq.contamination import lsh
from dq.contamination.leakage import near_overlap
from dq.contamination.shingles import build_docs
from dq.data.demo import demo_rows
from dq.pipeline.execute import run_pipeline
from dq.pipeline.plan import RunOptions
from dq.plugins import build_registry, make_plugin_manager
from dq.split.grouped import GroupedOptions, GroupedSplitter, balanced_fill
from dq.testing.corpus import openmath_shaped
from dq.testing.reference import reference_split
from dq.text.normalize import row_id
from tests.conftest import ROOT
from tests.helpers import dq

NEAR = GroupedOptions(near_duplicates=True, near_threshold=0.7)


def noisy_clusters(n: int, clusters: int, edits: int, seed: int = 0) -> pl.DataFrame:
    """``n`` rows, each a random word-edited copy of one of ``clusters`` base problems.

    Copies of one base sit around the 0.7 threshold from each other, and a cluster fills LSH
    buckets of many hundred documents: where linking that compares a document with only some
    of its bucket made the split's components and the gate's disagree.
    """
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    bases = [[rng.choice(vocab) for _ in range(30)] for _ in range(clusters)]
    rows = []
    for i in range(n):
        c = rng.randrange(clusters)
        words = list(bases[c])
        for _ in range(rng.randint(0, edits)):
            words[rng.randrange(len(words))] = rng.choice(vocab)
        rows.append(("gsm8k" if c % 2 else "math", " ".join(words), str(i)))
    return pl.DataFrame(rows, schema=["source", "problem", "expected_answer"], orient="row").with_columns(
        row_id=pl.int_range(n).cast(pl.String)
    )


def split_and_gate(rows: pl.DataFrame, options: GroupedOptions = NEAR) -> tuple[dict, pl.DataFrame]:
    result = GroupedSplitter(options).split(rows)
    train, val = rows[result.train], rows[result.val]
    assert sorted(result.train.tolist() + result.val.tolist()) == list(range(rows.height))
    return near_overlap(train, val, options.near_threshold), val


def shares(rows: pl.DataFrame, val: pl.DataFrame) -> dict[str, float]:
    total = rows.group_by("source").len()
    got = val.group_by("source").len().join(total, on="source", suffix="_all", how="right")
    return {s: (v or 0) / n for s, v, n in got.select("source", "len", "len_all").iter_rows()}


def partition(labels: np.ndarray, texts: list[str]) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for label, text in zip(labels.tolist(), texts, strict=True):
        groups.setdefault(label, set()).add(text)
    return {frozenset(g) for g in groups.values()}


def test_components_are_a_function_of_the_set_of_texts_even_in_large_buckets() -> None:
    texts = noisy_clusters(3000, 3, 6)["problem"].unique(maintain_order=True).to_list()
    keys = lsh.band_keys(build_docs(pl.Series(texts), 5, char=True, num_perm=128).sig, 32)
    assert max(np.unique(keys[:, b], return_counts=True)[1].max() for b in range(32)) > 256  # large buckets
    whole = partition(lsh.components(pl.Series(texts), 0.7), texts)
    shuffled = list(texts)
    random.Random(1).shuffle(shuffled)
    assert (
        partition(lsh.components(pl.Series(shuffled + shuffled[:500]), 0.7), shuffled + shuffled[:500])
        == whole
    )
    half = shuffled[::2]  # a subset only splits components: each of its components lies in one of the whole's
    for part in partition(lsh.components(pl.Series(half), 0.7), half):
        assert any(part <= group for group in whole)


def test_components_equal_brute_force_linking() -> None:
    """Every pair sharing a band key with >= 90 of 128 equal slots is linked, however large its bucket."""
    texts = noisy_clusters(1200, 2, 8, seed=3)["problem"].unique(maintain_order=True).to_list()
    docs = build_docs(pl.Series(texts), 5, char=True, num_perm=128)
    sig, keys = docs.sig, lsh.band_keys(docs.sig, 32)
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(texts)):
        linked = ((sig[i + 1 :] == sig[i]).sum(axis=1) >= 90) & (keys[i + 1 :] == keys[i]).any(axis=1)
        for j in (np.nonzero(linked)[0] + i + 1).tolist():
            a, b = root(i), root(j)
            parent[max(a, b)] = min(a, b)
    assert lsh.components(pl.Series(texts), 0.7).tolist() == [root(i) for i in range(len(texts))]


def test_near_split_passes_its_own_gate_on_noisy_clusters() -> None:
    rows = noisy_clusters(20_000, 20, 6)
    gate, val = split_and_gate(rows)
    assert gate["val_row_count"] == 0, gate
    assert val.height > 0


def test_near_split_passes_its_own_gate_on_the_demo() -> None:
    rows = demo_rows().filter(pl.col("source").is_in(["gsm8k", "math"]))
    rows = rows.with_columns(
        row_id=pl.Series(
            [row_id(*r) for r in rows.select("source", "problem", "expected_answer").iter_rows()]
        )
    )
    gate, val = split_and_gate(rows)
    assert gate["val_row_count"] == 0
    assert all(abs(x - 0.1) <= 0.02 for x in shares(rows, val).values()), shares(rows, val)


@pytest.mark.shared
def test_near_split_passes_its_own_gate_on_openmath_shaped_rows(shared_data: Path) -> None:
    rows = openmath_shaped(20_000, shared_data, seed=5).rename({"problem_source": "source"})
    rows = rows.filter(pl.col("source").is_in(["gsm8k", "math"])).with_columns(
        row_id=pl.int_range(pl.len()).cast(pl.String)
    )
    gate, val = split_and_gate(rows)
    assert gate["val_row_count"] == 0
    assert all(abs(x - 0.1) <= 0.02 for x in shares(rows, val).values()), shares(rows, val)


def test_balanced_fill_skips_a_component_that_would_overshoot() -> None:
    counts = pl.DataFrame(
        {"group": [0, 1, 2, 3, 4], "source": ["a", "a", "a", "a", "b"], "len": [50, 4, 3, 3, 10]},
        schema={"group": pl.Int64, "source": pl.String, "len": pl.UInt32},
    )
    # a: 60 rows, target 6. First pass: 50 would overshoot (skipped), 4 fits (gap 2), the 3s do not.
    # Second pass: the first 3 brings a closer (gap 2 -> -1); b: 10 rows, target 1, 10 only moves away.
    assert balanced_fill(counts, [0, 1, 2, 3, 4], 0.1).tolist() == [False, True, True, False, False]


def test_plain_grouped_split_keeps_the_study_fill() -> None:
    rows = demo_rows().filter(pl.col("source").is_in(["gsm8k", "math"])).with_row_index("i")
    result = GroupedSplitter(GroupedOptions()).split(rows)
    kept = {s: rows.filter(pl.col("source") == s).to_dicts() for s in ("gsm8k", "math")}
    train, val, train_groups, val_groups = reference_split(kept)
    assert result.train.tolist() == [r["i"] for r in train] and result.val.tolist() == [r["i"] for r in val]
    assert (result.train_groups, result.val_groups) == (train_groups, val_groups)


def test_manifest_and_summary_carry_the_val_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = dq("run", "--rules", "rules/near.toml", "--out", tmp_path / "o", "--quiet")
    assert result.exit_code in (0, 1), result.output
    manifest = json.loads((tmp_path / "o/manifest.json").read_text())
    share = manifest["split_val_share"]
    counts = manifest["split_source_counts"]
    assert share["target"] == 0.1 and share["off_target"] == []
    for source, n in manifest["accepted_source_counts"].items():
        assert share["rows"][source] == {"val": counts["val"][source], "all": n}
        assert share["by_source"][source] == round(counts["val"][source] / n, 4)
    summary = (tmp_path / "o/reports/summary.md").read_text()
    assert "| val share | 10.0% (target 10.0%) |" in summary
    assert f"| val share gsm8k | {share['by_source']['gsm8k']:.1%} (" in summary


def _skewed_input(path: Path) -> None:
    """math: 100 distinct problems; gsm8k: 40 copies of one problem and 2 others (target 4 of 42)."""
    rng = random.Random(0)
    words = [f"w{i}" for i in range(500)]
    distinct = [" ".join(rng.choice(words) for _ in range(12)) + "?" for _ in range(102)]
    one = "Maya has 12 apples and buys 30 more at the market. How many apples does Maya have now?"
    rows = (
        [("math", p) for p in distinct[:100]] + [("gsm8k", one)] * 40 + [("gsm8k", p) for p in distinct[100:]]
    )
    with path.open("w", encoding="utf-8") as fh:
        for source, problem in rows:
            line = {"source": source, "problem": problem, "expected_answer": "1"}
            fh.write(json.dumps(line | {"generated_solution": "So the answer is \\boxed{1}."}) + "\n")


def test_an_off_target_share_warns_naming_the_largest_components(tmp_path: Path) -> None:
    data, rules = tmp_path / "in.jsonl", tmp_path / "r.toml"
    _skewed_input(data)
    rules.write_text(
        'name = "skew"\n[split]\nval_ratio = 0.1\nnear_duplicates = true\n[leakage]\nnear_duplicates = true\n'
    )
    pm, infos, _ = make_plugin_manager(load_entrypoints=False)
    registry = build_registry(pm, infos)
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"question": "An unrelated benchmark question about trains."}) + "\n")
    options = RunOptions(input_spec=str(data), benchmarks=[f"b={bench}"])
    _, state = run_pipeline(pm, registry, rules, options, out_dir=tmp_path / "o")
    warnings = [n for n in state.notes if n.startswith("warning: split: val share of gsm8k")]
    assert len(warnings) == 1 and not [n for n in state.notes if "val share of math" in n]
    assert "is 4.8% (2 of 42 rows), 5.2 points off val_ratio 10.0%" in warnings[0]
    # The 40 copies (one component, over twice the target of 4) stay in train; singletons are not named.
    assert warnings[0].endswith(
        "largest near-duplicate components: 40 rows (train) 'maya has 12 apples and buys 30 more at the marke...'"
    )
    manifest = json.loads((tmp_path / "o/manifest.json").read_text())
    assert manifest["split_val_share"]["off_target"] == ["gsm8k"]
    assert manifest["split_val_share"]["by_source"]["math"] == 0.1
    summary = (tmp_path / "o/reports/summary.md").read_text()
    assert "| val share gsm8k | 4.8% (2 / 42), OFF TARGET by 5.2 points |" in summary


def test_split_result_holds_any_int_sequence_as_int64_positions() -> None:
    from array import array

    from dq.api.run import SplitResult, value_counts

    result = SplitResult(train=array("q", [2, 0]), val=pl.Series([1]), train_groups=2, val_groups=1)
    assert result.train.dtype == np.int64 and result.train.tolist() == [2, 0] and result.val.tolist() == [1]
    assert result == SplitResult(train=[2, 0], val=np.array([1]), train_groups=2, val_groups=1)
    assert result != SplitResult(train=[0, 2], val=[1], train_groups=2, val_groups=1)
    with pytest.raises(ValueError, match="one-dimensional"):
        SplitResult(train=[[0, 1]], val=[], train_groups=1, val_groups=0)
    sources = pl.Series(["math", "gsm8k", "math", None, "gsm8k", "math"])
    assert value_counts(sources) == {"math": 3, "gsm8k": 2, None: 1}
    assert list(value_counts(sources)) == ["math", "gsm8k", None]  # first-seen order, as Counter


def test_signatures_in_batches_equal_signing_all_texts_at_once() -> None:
    texts = pl.Series([f"Tom has {i} apples and buys {i % 7} more. How many now?" for i in range(23)] + [""])
    whole = build_docs(texts, 5, char=True, num_perm=128).sig
    assert np.array_equal(lsh.signatures_in_batches(texts, 5, 128, batch=5), whole)
    assert lsh.signatures_in_batches(pl.Series([], dtype=pl.String), 5, 128).shape[0] == 0
