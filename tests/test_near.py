"""Near-duplicate contamination: datasketch-identical signatures, checks, grouping, calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dq.contamination import lsh, shingles
from dq.contamination.near import MinHashCheck, NgramCheck, TemplateCheck
from dq.data.demo import PLANTED_EXACT, PLANTED_NEAR
from tests.conftest import ROOT
from tests.helpers import dq

NEAR = ROOT / "rules" / "near.toml"
BENCH = pl.DataFrame(
    {
        "question": [
            "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
            "How many clips did Natalia sell altogether in April and May?",
            "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. "
            "How much did she earn?",
        ]
    }
).with_row_index("benchmark_index")


def _rows(problems: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"problem": problems}).with_row_index("pos")


def _datasketch(items: list[tuple[str, ...] | bytes]) -> np.ndarray:
    m = MinHash(num_perm=128, seed=1, hashfunc=shingles.shingle_hash32)
    for s in items:
        m.update(s)
    return m.hashvalues


@settings(max_examples=60)
@given(st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=5))
def test_signatures_equal_datasketch_for_char_and_word_shingles(texts: list[str]) -> None:
    series = pl.Series(texts, dtype=pl.String)
    char = shingles.build_docs(series, 5, char=True, num_perm=128)
    word = shingles.build_docs(series, 3, num_perm=128)
    for i in range(len(texts)):
        data = char.text[i].encode("utf-8")
        grams = [data[j : j + 5] for j in range(len(data) - 4)] or ([data] if data else [])
        if grams:
            assert np.array_equal(char.sig[i], _datasketch(grams))
        toks = word.tokens.lists[i].to_list()
        wgrams = [tuple(toks[j : j + 3]) for j in range(len(toks) - 2)] or ([tuple(toks)] if toks else [])
        if wgrams:
            assert np.array_equal(word.sig[i], _datasketch(wgrams))


def test_minhash_finds_a_paraphrase_with_scores_and_evidence() -> None:
    rows = _rows(
        [
            "In April Natalia sold clips to 48 of her friends, and she sold half as many clips in May. "
            "How many clips did Natalia sell altogether in April and May? Show your work.",
            "Janet's ducks lay 16 eggs per day.",
        ]
    )
    found = MinHashCheck(MinHashCheck.Options()).find(rows, {"gsm8k": BENCH})
    assert found.select("pos", "benchmark_index").rows() == [(0, 0)]
    match = found.row(0, named=True)
    assert (
        match["kind"] == "near"
        and 0.5 <= match["verified"] < 1
        and abs(match["estimate"] - match["verified"]) < 0.2
    )
    assert json.loads(match["evidence"])["shared_shingles"] > 50


def test_numbers_changed_is_a_label_never_a_filter() -> None:
    rows = _rows([BENCH["question"][1].replace("12", "15").replace("50", "40")])
    assert MinHashCheck(MinHashCheck.Options()).find(rows, {"g": BENCH})["kind"].to_list() == [
        "numbers_changed"
    ]
    with pytest.raises(ValidationError, match="'kinds' no longer filters matches"):
        MinHashCheck.Options(kinds=["verbatim", "near"])
    template = TemplateCheck(TemplateCheck.Options()).find(rows, {"g": BENCH})
    assert template.row(0, named=True)["kind"] == "numbers_changed"
    assert json.loads(template["evidence"][0])["numbers"] == [["15", "40"], ["12", "50"]]


def test_ngram_reports_the_matched_span() -> None:
    rows = _rows(
        ["Warm-up. Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of it."]
    )
    found = NgramCheck(NgramCheck.Options(n=8)).find(rows, {"g": BENCH})
    assert found["benchmark_index"].to_list() == [1]
    assert json.loads(found["evidence"][0])["span"] == "weng earns 12 an hour for babysitting yesterday"


def test_components_group_paraphrases_deterministically() -> None:
    texts = pl.Series(
        [
            BENCH["question"][0],
            "unrelated text about trains and stations far away",
            BENCH["question"][0] + " Explain.",
        ]
    )
    assert lsh.components(texts, 0.7).tolist() == [0, 1, 0]


def test_near_rule_set_flags_the_demo_paraphrase_with_evidence(tmp_path: Path) -> None:
    result = dq("run", "--rules", NEAR, "--out", tmp_path / "o")
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "o/reports/contamination.json").read_text())
    matches = [json.loads(line) for line in (tmp_path / "o/reports/contamination_matches.jsonl").open()]
    kinds = {(m["row_index"], m["method"]): m["kind"] for m in matches}
    assert all(kinds[(row, "exact")] == "verbatim" for row in PLANTED_EXACT)
    paraphrase, renumbered = PLANTED_NEAR
    assert kinds[(paraphrase, "ngram")] == "near"
    assert kinds[(renumbered, "template")] == "numbers_changed"
    assert {m["action"] for m in matches} == {"fail"}  # every kind of near-copy fails in near.toml
    checks = {c["name"]: c["status"] for c in report["checks"]}
    assert checks == {"dq.exact": "fail", "dq.minhash": "fail", "dq.ngram": "fail", "dq.template": "fail"}


@pytest.mark.shared
def test_real_data_known_overlaps(shared_data: Path) -> None:
    math_test = pl.read_ndjson(shared_data / "math/test.jsonl").select(pl.col("problem").alias("question"))
    math_test = math_test.with_row_index("benchmark_index")
    train = pl.read_ndjson(shared_data / "math/train.jsonl")
    rows = _rows(train["problem"].to_list())
    found = MinHashCheck(MinHashCheck.Options(threshold=0.99)).find(rows, {"math": math_test})
    verbatim = found.filter(pl.col("kind") == "verbatim")
    assert verbatim.height == 1  # MATH has exactly one problem in both train and test
    from dq.contamination.exact import ExactCheck

    exact = ExactCheck(ExactCheck.Options()).find(rows, {"math": math_test})
    assert exact.select("pos", "benchmark_index").rows() == verbatim.select("pos", "benchmark_index").rows()


@settings(max_examples=60)
@given(st.lists(st.text(alphabet="ab c", max_size=30), min_size=1, max_size=6), st.data())
def test_vectorized_pair_jaccard_equals_set_jaccard(texts: list[str], data: st.DataObject) -> None:
    docs = shingles.build_docs(pl.Series(texts, dtype=pl.String), 3, char=True)
    index = st.integers(0, len(texts) - 1)
    pairs = pl.DataFrame(
        data.draw(st.lists(st.tuples(index, index), min_size=1, max_size=10)),
        schema=["left", "right"],
        orient="row",
    )
    got, _ = lsh.pair_jaccard(docs, docs, pairs)
    want = [lsh.jaccard(docs.shingle_set(a), docs.shingle_set(b)) for a, b in pairs.iter_rows()]
    assert np.allclose(got, want)


def test_components_partition_does_not_depend_on_order() -> None:
    import random

    base = BENCH["question"].to_list()
    texts = [
        base[0],
        base[1],
        base[0] + " Explain.",
        "Explain. " + base[1],
        "unrelated words here and there",
        base[0].upper(),
    ]
    order = list(range(len(texts)))
    random.Random(3).shuffle(order)

    def partition(labels: list[int], idx: list[int]) -> set[frozenset[int]]:
        groups: dict[int, set[int]] = {}
        for pos, label in enumerate(labels):
            groups.setdefault(label, set()).add(idx[pos])
        return {frozenset(g) for g in groups.values()}

    straight = partition(lsh.components(pl.Series(texts), 0.7).tolist(), list(range(len(texts))))
    shuffled = partition(lsh.components(pl.Series([texts[i] for i in order]), 0.7).tolist(), order)
    assert straight == shuffled == {frozenset({0, 2, 5}), frozenset({1, 3}), frozenset({4})}


def test_scan_streams_a_file_and_exits_1_on_a_fail_match(tmp_path: Path) -> None:
    from dq.data.demo import demo_benchmark, demo_rows

    rows = demo_rows()
    rows.write_parquet(tmp_path / "rows.parquet")
    demo_benchmark().select("question").write_ndjson(tmp_path / "bench.jsonl")
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[[contamination]]\ncheck = "dq.exact"\naction = "fail"\n'
        '[[contamination]]\ncheck = "dq.minhash"\naction = "warn"\nthreshold = 0.6\n'
    )
    result = dq(
        "scan",
        "--rules",
        rules,
        "--input",
        tmp_path / "rows.parquet",
        "--benchmark",
        f"demo={tmp_path / 'bench.jsonl'}",
        "--batch-rows",
        "500",
        "--out",
        tmp_path / "scan",
    )
    assert result.exit_code == 1, result.output
    matches = [json.loads(line) for line in (tmp_path / "scan/matches.jsonl").read_text().splitlines()]
    exact = sorted(m["row_index"] for m in matches if m["check"] == "dq.exact")
    assert exact == list(PLANTED_EXACT)  # row indices survive the 500-row batches
    near = {m["row_index"]: m["kind"] for m in matches if m["check"] == "dq.minhash"}
    assert near[PLANTED_NEAR[0]] == "near" and {
        m["action"] for m in matches if m["check"] == "dq.minhash"
    } == {"warn"}


@pytest.mark.shared
def test_known_benchmark_names_resolve_to_local_copies(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dq.data.benchmarks import load_benchmark, parse_benchmark_arg

    monkeypatch.setenv("DQ_BENCHMARK_DIR", str(shared_data))
    sizes = {
        name: load_benchmark(parse_benchmark_arg(name))[1]["rows"] for name in ("gsm8k", "math", "math500")
    }
    assert sizes == {"gsm8k": 1319, "math": 5000, "math500": 500}


def test_per_check_benchmark_filter_and_drop_action(tmp_path: Path) -> None:
    bench = tmp_path / "b.jsonl"
    from dq.data.demo import demo_benchmark

    demo_benchmark().select("question").write_ndjson(bench)
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[[benchmarks]]\nname = "mine"\npath = "' + str(bench) + '"\n'
        '[[contamination]]\ncheck = "dq.minhash"\naction = "drop"\nbenchmarks = ["mine"]\n'
        'kind_actions = { numbers_changed = "warn" }\n'
    )
    result = dq("run", "--rules", rules, "--out", tmp_path / "o", "--benchmark", f"other={bench}")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "o/manifest.json").read_text())
    assert manifest["contamination_dropped_rows"] == len(PLANTED_EXACT) + 1  # four copies + the paraphrase
    report = json.loads((tmp_path / "o/reports/contamination.json").read_text())
    assert report["benchmarks"]["other"]["overlap_count"] == 0
    assert report["benchmarks"]["mine"]["overlap_count"] >= 5  # numbers_changed siblings are reported too
    rules.write_text(rules.read_text().replace('["mine"]', '["mien"]'))
    bad = dq("run", "--rules", rules, "--out", tmp_path / "o2")
    assert bad.exit_code == 2 and "contamination[0].benchmarks: unknown benchmark 'mien'" in bad.output


@pytest.mark.shared
def test_number_edits_of_a_gsm8k_item_fail_the_near_rule_set(shared_data: Path, tmp_path: Path) -> None:
    """The issue's example: GSM8K test item 865 with one number removed passed every check."""
    item = pl.read_ndjson(shared_data / "gsm8k/test.jsonl")["question"][865]
    edits = {
        "number_removed": item.replace("has 12 red cars", "has red cars"),
        "distractor_with_number": item.replace(
            "The rink also has yellow cars.", "The rink opened 14 years ago. The rink also has yellow cars."
        ),
        "numbers_scaled": item.replace("12", "36")
        .replace(" 2 ", " 6 ")
        .replace("3 times", "9 times")
        .replace("75", "225"),
    }
    assert len(set(edits.values()) | {item}) == 4
    pl.DataFrame({"problem": list(edits.values())}).write_parquet(tmp_path / "edits.parquet")
    env = {"DQ_BENCHMARK_DIR": str(shared_data)}
    result = dq(
        "scan", "--rules", NEAR, "--input", tmp_path / "edits.parquet", "--out", tmp_path / "scan", env=env
    )
    assert result.exit_code == 1, result.output
    matches = [json.loads(line) for line in (tmp_path / "scan/matches.jsonl").open()]
    failing = {
        m["row_index"]
        for m in matches
        if m["benchmark"] == "gsm8k" and m["benchmark_index"] == 865 and m["action"] == "fail"
    }
    assert failing == {0, 1, 2}, matches
    kinds = {(m["row_index"], m["check"]): m["kind"] for m in matches if m["benchmark_index"] == 865}
    assert kinds[(0, "dq.minhash")] == "numbers_added_or_removed"
    assert kinds[(1, "dq.minhash")] == "numbers_added_or_removed"
    assert kinds[(2, "dq.template")] == "numbers_changed"


def test_contamination_action_overrides_the_kind_actions_too(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[[contamination]]\ncheck = "dq.template"\naction = "fail"\n'
        'kind_actions = { numbers_changed = "warn", verbatim = "warn" }\n'
    )
    soft = dq("run", "--rules", rules, "--out", tmp_path / "soft", "--quiet")
    assert soft.exit_code == 0, soft.output  # every template match is a kind that warns
    hard = dq(
        "run", "--rules", rules, "--out", tmp_path / "hard", "--quiet", "--contamination-action", "fail"
    )
    assert hard.exit_code == 1, hard.output
    matches = [json.loads(line) for line in (tmp_path / "hard/reports/contamination_matches.jsonl").open()]
    assert matches and {m["action"] for m in matches} == {"fail"}


def test_template_masks_the_sign_before_a_number() -> None:
    """A MATH-style copy whose numbers changed sign ("-2" -> "280", "- 3y" -> "+ 7y") keeps its
    template: Functional MATH held such copies that no check reported."""
    item = "Given that $2x - 3y = 8$ and $4x + 3y = -2$, what is the product of $x$ and $y$?"
    bench = pl.DataFrame({"question": [item, "Find the domain of $\\sqrt{6-x-x^2}$."]}).with_row_index(
        "benchmark_index"
    )
    rows = _rows(
        [
            "Given that $7x + 7y = 56$ and $14x + 7y = 280$, what is the product of $x$ and $y$?",
            "Given that $7x + 7y = 56$ and $14x + 7y = 280$, what is the sum of $x$ and $y$?",
        ]
    )
    found = TemplateCheck(TemplateCheck.Options()).find(rows, {"math": bench})
    assert found.select("pos", "benchmark_index", "kind").rows() == [(0, 0, "numbers_changed")]
    assert json.loads(found["evidence"][0])["numbers"] == [
        ["7", "+7", "56", "14", "+7", "280"],
        ["2", "-3", "8", "4", "+3", "-2"],
    ]
