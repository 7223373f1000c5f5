"""User regexes run in linear time with Python ``re.search``'s verdicts (dq.text.linear_regex)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dq.api.rule import RowRule, RuleContext
from dq.api.schema import RuleEntry
from dq.errors import DqError
from dq.pipeline.curation import rule_mask
from dq.pipeline.rule_binding import bind_rule
from dq.testing import default_registry, evaluate_rule
from dq.text import linear_regex, regex_translate, vector
from tests.helpers import dq

# Characters where Python's and Rust's Unicode semantics part: case folding (İ ı K ſ ß ς Σ),
# whitespace (NBSP, U+1C, U+2028, U+3000), word characters (combining marks, ², ‿, ZWJ,
# Ⅻ, fullwidth digits), newline handling for $ and ^, and plain ASCII around them.
ALPHABET = list("aAbkKsSxyz019_ !.:\n\t-'") + [
    "\u0130",  # İ
    "\u0131",  # ı
    "\u212a",  # Kelvin sign
    "\u017f",  # long s
    "\u00df",  # ß
    "\u1e9e",  # capital sharp s
    "\u03c3",
    "\u03c2",
    "\u03a3",
    "\u00e9",
    "\u00c9",
    "\u0301",  # combining acute
    "\u0308",  # combining diaeresis
    "\u00a0",  # NBSP
    "\u001c",
    "\u0085",
    "\u2028",
    "\u3000",
    "\u00b2",
    "\u00bd",
    "\u203f",  # undertie: Rust word, not Python's
    "\u200d",  # ZWJ
    "\u216b",  # Ⅻ
    "\uff11",  # fullwidth 1
    "\u0660",  # Arabic-Indic zero
    "\u4e00",
    "\U0001d400",  # mathematical bold A
]
texts = st.lists(st.sampled_from(ALPHABET), max_size=14).map("".join)

PORTABLE = [
    r"^\s*problem\s*:",
    r"\bnew problem\s*:",
    r"\bx\b",
    r"\Bk",
    r"k\B",
    r"\B",
    r"\b",
    r"s$",
    r"\n$",
    r"^$",
    r"$",
    r"(a+)+$",
    r"\w+\s\w",
    r"\W\d",
    r"\D\S$",
    r"[^\w\s]",
    r"[a-z]\b",
    r"[^a-z]+\Z",
    r"\Ax|y\Z",
    r"(?m)^b$",
    r"(?m)\n^",
    r"(?s)x.y",
    r"x.y",
    r"(?a)\w\b",
    r"(?a)\W\d",
    r"(?i:ß)|(?-i:K)",
    r"\u0130|\u0131|\u017f|\u212a",
    r"[\u00df\u1e9e]",
    r"\u03c3|\u03a3",
    r"é|e\u0301",
    r"ss",
    r"k{2,3}|s?z*",
    r"(?:a|b|)+:",
    r"\b(?:a\b|b\B)",
    r"",
]


def _python(series_texts: list[str], patterns: list[str], ignorecase: bool) -> list[bool]:
    compiled = [re.compile(p, re.IGNORECASE if ignorecase else 0) for p in patterns]
    return [any(c.search(t) for c in compiled) for t in series_texts]


@given(st.lists(texts, min_size=1, max_size=25), st.booleans())
@example(["", "a", "\n", "é"], False)
@example(["x\u0301", "\u00b2x", "x\u203f", "\u212a", "\u0130", "s\n", "s\n\n", "a\nb"], True)
def test_every_portable_pattern_agrees_with_python(batch: list[str], ignorecase: bool) -> None:
    series = pl.Series(batch, dtype=pl.String)
    for pattern in PORTABLE:
        assert linear_regex.linear_problem(pattern, ignorecase) is None, pattern
        got = linear_regex.search(series, [pattern], ignorecase).to_list()
        assert got == _python(batch, [pattern], ignorecase), (pattern, ignorecase)


@given(st.lists(texts, min_size=1, max_size=25), st.booleans())
def test_pattern_lists_agree_with_python(batch: list[str], ignorecase: bool) -> None:
    series = pl.Series(batch, dtype=pl.String)
    for patterns in (PORTABLE[:12], PORTABLE[12:24], PORTABLE[24:], [r"s$", r"(?m)^b"]):
        got = linear_regex.search(series, patterns, ignorecase).to_list()
        assert got == _python(batch, patterns, ignorecase), (patterns, ignorecase)


# Random regular patterns built from pieces whose semantics differ between the two engines.
_ATOMS = [
    "a",
    "k",
    "s",
    "ß",
    "\u0130",
    "\u0301",
    ".",
    r"\w",
    r"\W",
    r"\d",
    r"\s",
    r"\S",
    "[a-z]",
    "[^ks]",
    r"[\w\u0301]",
    r"\n",
    "x",
]
_ANCHORS = [r"\b", r"\B", "^", "$", r"\A", r"\Z"]
_patterns = st.recursive(
    st.sampled_from(_ATOMS + _ANCHORS),
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map("".join),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(?:" + "|".join(xs) + ")"),
        st.tuples(inner, st.sampled_from(["*", "+", "?", "{2}", "{1,3}"])).map(lambda t: f"(?:{t[0]}){t[1]}"),
    ),
    max_leaves=8,
)


@given(
    _patterns,
    st.sampled_from(["", "(?m)", "(?s)", "(?a)"]),
    st.lists(texts, min_size=1, max_size=12),
    st.booleans(),
)
def test_generated_patterns_agree_with_python(
    pattern: str, flags: str, batch: list[str], ignorecase: bool
) -> None:
    pattern = flags + pattern
    if linear_regex.linear_problem(pattern, ignorecase) is not None:
        return  # e.g. MULTILINE anchors mixed with $: rejected, not miscomputed
    got = linear_regex.search(pl.Series(batch, dtype=pl.String), [pattern], ignorecase).to_list()
    assert got == _python(batch, [pattern], ignorecase), (pattern, ignorecase)


def test_many_distinct_characters_use_non_ascii_stand_ins() -> None:
    # More cells than ASCII stand-ins: 80 word and 80 non-word characters, each its own item.
    words = [chr(0x4E00 + i) for i in range(80)]
    others = [chr(0x2200 + i) for i in range(80)]
    pattern = r"\b(?:" + "|".join(w + o for w, o in zip(words, others, strict=True)) + r")\B"
    rows = [w + o + o for w, o in zip(words, others, strict=True)] + ["\u0301" + words[3] + others[3] + "\n"]
    rows += ["a" + w + o + "b" for w, o in zip(words, others, strict=True)]
    got = linear_regex.search(pl.Series(rows), [pattern], False).to_list()
    assert got == _python(rows, [pattern], False)
    assert any(got) and not all(got)


def test_stand_ins_have_the_intended_rust_word_ness() -> None:
    word = pl.Series([chr(c) for c in linear_regex._WORD_POOL.tolist()]).str.contains(r"^\w$")
    other = pl.Series([chr(c) for c in linear_regex._NONWORD_POOL.tolist()]).str.contains(r"^\w$")
    assert word.all() and not other.any()
    assert 10 not in linear_regex._NONWORD_POOL.tolist()


@pytest.mark.parametrize(
    "char", list("aAkKsSiIfF09_ :") + ["\u0130", "\u0131", "\u212a", "\u017f", "\u00df", "\u03c3"]
)
@pytest.mark.parametrize("flags", [re.IGNORECASE, re.IGNORECASE | re.ASCII])
def test_ignorecase_literal_shortcut_equals_a_full_scan(char: str, flags: int) -> None:
    fast = regex_translate._item_set(regex_translate._char(ord(char)), flags, ord(char))
    full = regex_translate._item_set(regex_translate._char(ord(char)), flags, None)
    assert np.array_equal(fast, full)


def test_vector_regex_search_is_linear_for_the_issues_pattern() -> None:
    series = pl.Series(["a" * 40 + "!", "a" * 40, "ä" * 40 + "a!", "aaa\n", "aaa\nb"])
    start = time.perf_counter()
    assert vector.regex_search(series, [r"(a+)+$"], True).to_list() == [False, True, False, True, False]
    assert time.perf_counter() - start < 30


def _bound(params: dict[str, object]) -> RowRule:
    return bind_rule(RuleEntry(rule="dq.regexes", params=params), 0, default_registry(), "<test>").rule


def test_catastrophic_pattern_over_a_million_rows_takes_seconds() -> None:
    # One such row took 74 s when ASCII rows ran on Python re; a million rows must take seconds.
    n = 1_000_000
    rows = ["a" * 30 + "!", "ä" * 30 + "a!", "b" * 31, "ä" * 31] * (n // 4)
    rows[7] = "x aaaa"  # matches: ends in a's
    rows[8] = "ääää\u0301aaa\n"  # matches: Python's $ also holds before a final newline
    rows[9] = "aaa\nb"  # does not: a newline before the end
    frame = pl.DataFrame({"problem": rows})
    rule = _bound({"patterns": {"nested": "(a+)+$"}})
    start = time.perf_counter()
    flagged = rule_mask(rule, RuleContext(frame)).arg_true().to_list()
    elapsed = time.perf_counter() - start
    print(f"(a+)+$ over {n:,} rows: {elapsed:.2f} s")
    assert flagged == [7, 8]
    assert elapsed < 60


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "uses a backreference"),
        (r"(?P<x>a)(?P=x)", "uses a backreference"),
        (r"new (?=problem)", "uses a lookahead"),
        (r"new (?!problem)", "uses a lookahead"),
        (r"(?<=new )problem", "uses a lookbehind"),
        (r"(?<!new )problem", "uses a lookbehind"),
        (r"(a)?(?(1)b|c)", "uses a conditional group"),
        (r"(?>a+)b", "uses an atomic group"),
        (r"a++b", "uses a possessive quantifier"),
        (r"(?m)^a|b$", None),
        (r"(?m:^a)|b$", "mixes $ without MULTILINE and MULTILINE anchors"),
        (r"(?a:\W)", "uses a scoped (?a:...) or (?u:...) group"),
        (r"(?:\w{100}){100}", "is too large"),
    ],
)
def test_non_linear_patterns_are_named(pattern: str, reason: str | None) -> None:
    problem = linear_regex.linear_problem(pattern, True)
    assert problem == reason if reason is None else problem is not None and problem.startswith(reason)
    if reason is not None:
        with pytest.raises(linear_regex.UnsupportedRegex):
            linear_regex.search(pl.Series(["x"]), [pattern], True)


def test_dq_validate_rejects_a_backreference_in_one_line(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text("[[rules]]\nrule = \"dq.regexes\"\npatterns = { twice = '(a)\\1', ok = 'a+$' }\n")
    result = dq("validate", "--rules", rules)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert (
        "pattern 'twice' = '(a)\\\\1' uses a backreference, which dq's linear-time regex engine cannot run"
        in lines[0]
    )
    assert "rules[0] (rule 'dq.regexes')" in lines[0]


def test_dq_validate_accepts_lookaround_under_an_opted_in_budget(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text(
        "[[rules]]\nrule = \"dq.regexes\"\npython_re_timeout_s = 5\npatterns = { after = '(?<=new )problem' }\n"
    )
    result = dq("validate", "--rules", rules)
    assert result.exit_code == 0, result.output


def test_opted_in_patterns_agree_with_python_and_name_details() -> None:
    params = {
        "patterns": {"after": "(?<=new )problem", "pair": r"(\w)\1", "plain": "x$"},
        "python_re_timeout_s": 60,
    }
    rows = ["a new problem", "problem", "aa", "x", "ab", "new problem x"]
    assert evaluate_rule("dq.regexes", params, [{"problem": r} for r in rows]) == [0, 2, 3, 5]
    rule = _bound(params)
    frame = pl.DataFrame({"problem": rows})
    ctx = RuleContext(frame)
    flagged = frame.filter(rule_mask(rule, ctx))
    assert rule.details(ctx, flagged) == ["after", "pair", "plain", "after,plain"]


def test_the_time_budget_is_real() -> None:
    rule = _bound({"patterns": {"slow": r"^((a+)+)\2!"}, "python_re_timeout_s": 0.5})
    frame = pl.DataFrame({"problem": ["a" * 40]})
    start = time.perf_counter()
    with pytest.raises(DqError, match=r"pattern 'slow' ran past python_re_timeout_s = 0.5 s"):
        rule_mask(rule, RuleContext(frame))
    assert time.perf_counter() - start < 30
    # The budget is the rule's for the whole run: once spent, the next batch fails at once.
    with pytest.raises(DqError, match="ran past"):
        rule_mask(rule, RuleContext(pl.DataFrame({"problem": ["b"]})))
