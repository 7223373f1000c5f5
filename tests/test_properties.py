"""Property-based tests (hypothesis) of the extractor, both normalizers and row_id."""

from __future__ import annotations

import json
import re
import unicodedata

import polars as pl
from hypothesis import example, given
from hypothesis import strategies as st

from dq.testing.reference import strict_patterns
from dq.text import normalize as ref
from dq.text import vector

PIECES = [
    "\\boxed{",
    "\\boxed {",
    "{",
    "}",
    "\\frac{1}{2}",
    "\\left(",
    "\\right)",
    "\\tfrac",
    " ",
    "  ",
    "\n",
    "\t",
    "\x0b",
    "\x1c",
    "\u00a0",
    "\u3000",
    "\u2028",
    "Problem:",
    "new problem:",
    "NEW PROBLEM :",
    "must be an integer",
    "MUST BE AN İNTEGER",
    "\u212a",
    "ﬁ",
    "Ⅻ",
    "１２",
    "é",
    "e\u0301",
    "Σ",
    "ς",
    "ß",
    "x",
    "42",
    "_",
    "'",
    "inspired by this one",
]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=25).map("".join)


@given(st.text())
def test_reference_functions_never_raise_on_any_text(text: str) -> None:
    ref.last_boxed(text)
    ref.gate_normalize(text)
    ref.canonical_problem(text)
    assert re.fullmatch(r"[0-9a-f]{20}", ref.row_id(text, text, text))


@given(texts)
@example("\\boxed{a}\\boxed{b")
@example("\\boxed{{{{deep}}}}")
def test_last_boxed_returns_brace_balanced_content(text: str) -> None:
    content = ref.last_boxed(text)
    if content is None:
        return
    depth = 0
    for ch in content:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0


@given(texts)
def test_normalizers_are_idempotent(text: str) -> None:
    assert ref.gate_normalize(ref.gate_normalize(text)) == ref.gate_normalize(text)
    assert ref.canonical_problem(ref.canonical_problem(text)) == ref.canonical_problem(text)


@given(
    st.lists(st.text(alphabet="abcXYZ019 .,$\\{}", min_size=1, max_size=8), min_size=1, max_size=8),
    st.lists(st.sampled_from([" ", "  ", "\n", "\t", "\u00a0", "\u3000 "]), min_size=8, max_size=8),
)
def test_canonical_is_invariant_under_case_whitespace_and_nfkc(words: list[str], gaps: list[str]) -> None:
    plain = " ".join(words)
    spaced = gaps[0] + "".join(w + g for w, g in zip(words, gaps[1:] + gaps, strict=False))
    assert ref.canonical_problem(plain.upper()) == ref.canonical_problem(plain)
    assert ref.canonical_problem(spaced) == ref.canonical_problem(plain)
    full_width = plain.translate(str.maketrans("0123456789abc", "０１２３４５６７８９ａｂｃ"))
    assert ref.canonical_problem(full_width) == ref.canonical_problem(plain)
    assert ref.canonical_problem(unicodedata.normalize("NFKD", plain)) == ref.canonical_problem(plain)


@given(st.lists(texts, min_size=1, max_size=30))
def test_vectorized_forms_agree_with_reference(batch: list[str]) -> None:
    series = pl.Series(batch, dtype=pl.String)
    assert vector.last_boxed(series).to_list() == [ref.last_boxed(t) for t in batch]
    assert vector.gate_normalize(series).to_list() == [ref.gate_normalize(t) for t in batch]
    assert vector.canonical_problem(series).to_list() == [ref.canonical_problem(t) for t in batch]


@given(st.lists(texts, min_size=1, max_size=30))
def test_vectorized_phrase_and_regex_rules_agree_with_python(batch: list[str]) -> None:
    phrases, patterns = strict_patterns()
    series = pl.Series(batch, dtype=pl.String)
    got = vector.contains_phrases(series, phrases, lowercase=True).to_list()
    assert got == [any(p in t.lower() for p in phrases) for t in batch]
    compiled = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    assert vector.regex_search(series, patterns, True).to_list() == [bool(compiled.search(t)) for t in batch]


@given(st.lists(texts, min_size=1, max_size=20))
def test_non_portable_regexes_fall_back_to_python(batch: list[str]) -> None:
    patterns = [r"integer$", r"(?<=new )problem", r"(x)\1"]
    series = pl.Series(batch, dtype=pl.String)
    compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
    want = [any(c.search(t) for c in compiled) for t in batch]
    assert vector.regex_search(series, patterns, True).to_list() == want


@given(st.lists(st.tuples(texts, texts, texts), min_size=1, max_size=20))
def test_duckdb_row_ids_equal_the_reference(rows: list[tuple[str, str, str]]) -> None:
    from dq.pipeline.curation import with_row_ids

    frame = pl.DataFrame(rows, schema=["source", "problem", "expected_answer"], orient="row")
    assert with_row_ids(frame)["row_id"].to_list() == [ref.row_id(*r) for r in rows]


@given(st.lists(st.one_of(st.text(), texts, st.none()), min_size=1, max_size=20))
@example(["".join(chr(i) for i in range(0x80)) + "\u2028\u2029😀"])
def test_json_lines_equal_json_dumps(values: list[str | None]) -> None:
    """Polars' JSON encoder, sliced to a string literal, writes exactly json.dumps's escapes."""
    from dq.data.jsonl import object_line

    frame = pl.DataFrame({"a": values}, schema={"a": pl.String})
    lines = frame.select(object_line([("a", pl.col("a"))])).to_series().to_list()
    assert lines == [None if v is None else json.dumps({"a": v}, ensure_ascii=False) for v in values]


@given(st.lists(st.one_of(st.sampled_from(["", "a", "b", "x" * 40]), st.text()), max_size=60))
def test_first_distinct_equals_unique_in_first_seen_order(values: list[str]) -> None:
    """The checkpoint dictionaries' 64-bit-hash distinct equals Polars' exact one."""
    from dq.pipeline.shared_strings import first_distinct

    series = pl.Series("v", values, dtype=pl.String)
    assert first_distinct(series).to_list() == series.unique(maintain_order=True).to_list()
