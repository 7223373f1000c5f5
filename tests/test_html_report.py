"""The dq.html run report: a real demo run, its sections and numbers, escaping, tokens, size bound."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from html_run_helpers import run_demo  # noqa: E402

from dq_reports.html.page import highlight, shared_word_spans  # noqa: E402
from dq_reports.html.reporter import render_run, write_html_report  # noqa: E402
from dq_reports.html.view import EXAMPLES_PER_RULE, MAX_PAIRS  # noqa: E402


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Any]:
    return run_demo(tmp_path_factory.mktemp("html"))


def text_of(html: str) -> str:
    """Visible text, tags dropped (numbers inside tables and SVG text included)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_run_writes_a_self_contained_page(demo: tuple[Any, Path, Any]) -> None:
    state, out, _ = demo
    html = (out / "reports/report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "reports/report.html" in state.outputs
    for fetch in ("<script", "<link", "<img", "<iframe", "@import", 'src="', 'href="http'):
        assert fetch not in html, fetch
    assert not re.search(r"url\((?!#)", html)  # only the SVG's own clip paths
    for anchor in ("funnel", "rejects", "examples", "split", "gates", "contamination", "tokens"):
        assert f'<section id="{anchor}">' in html
    assert html.count("<svg") >= 2  # funnel and rejects charts, drawn by matplotlib
    assert "Matplotlib" in html or "matplotlib" in html


def test_funnel_rejects_and_split_numbers_come_from_the_run(demo: tuple[Any, Path, Any]) -> None:
    state, out, _ = demo
    html = (out / "reports/report.html").read_text(encoding="utf-8")
    funnel = html[html.index('id="funnel"') : html.index('id="rejects"')]
    for source in ("gsm8k", "math"):
        counts = [
            (state.considered["source"] == source).sum(),
            (state.accepted["source"] == source).sum(),
            (state.train["source"] == source).sum(),
            (state.val["source"] == source).sum(),
        ]
        row = "".join(f'<td class="n">{n}</td>' for n in counts)
        assert f"<td>{source}</td>{row}" in funnel
    assert f"<b>{state.input_info['rows']}</b>" in funnel
    rejects = text_of(html[html.index('id="rejects"') : html.index('id="examples"')])
    for key, n in state.reject_reasons.items():
        source, reason = key.split(":")
        assert reason in rejects and str(n) in rejects
    split = html[html.index('id="split"') : html.index('id="gates"')]
    groups = state.train.with_columns(c=pl.col("problem")).filter(pl.col("source") == "math")
    assert f'<td class="n">{groups.height}</td>' in split


def test_examples_mark_the_matched_phrase_and_show_boxed_vs_expected(demo: tuple[Any, Path, Any]) -> None:
    state, out, _ = demo
    html = (out / "reports/report.html").read_text(encoding="utf-8")
    examples = html[html.index('id="examples"') : html.index('id="split"')]
    assert "<mark>cannot spend more than</mark>" in examples
    assert re.search(r"<mark>new problem\s*:</mark>", examples, re.IGNORECASE)
    first = state.rejected.filter(pl.col("reason") == "boxed_mismatch").sort("row_index").row(0, named=True)
    detail = state.verdicts.filter(
        (pl.col("row_index") == first["row_index"]) & (pl.col("rule") == "boxed_mismatch")
    )["detail"][0]
    boxed, expected = re.match(r"boxed='(.*)' expected='(.*)'", detail).groups()  # type: ignore[union-attr]
    assert f"<b class='boxed'>{boxed}</b> vs expected <b class='expected'>{expected}</b>" in examples
    for reason in ("missing_box", "boxed_mismatch", "suspicious_pattern", "problem_pattern"):
        shown = examples.split(f"<h3>{reason} ")[1].split("<h3>")[0].count("class='card example'")
        assert shown == min(EXAMPLES_PER_RULE, int((state.rejected["reason"] == reason).sum()))


def test_contamination_pairs_side_by_side(demo: tuple[Any, Path, Any]) -> None:
    state, out, _ = demo
    html = (out / "reports/report.html").read_text(encoding="utf-8")
    part = html[html.index('id="contamination"') : html.index('id="tokens"')]
    exact = state.matches.filter(pl.col("method") == "exact").sort("benchmark_index").row(0, named=True)
    item = state.benchmarks[exact["benchmark"]]["question"][exact["benchmark_index"]]
    assert f"{state.matches.height} matches in all" in part
    assert part.count("class='card pair-card'") == min(MAX_PAIRS, state.matches.height)
    assert f"training row {exact['row_index']} ({exact['split']}, {exact['source']})" in part
    assert "<mark>" in part and "method <b>exact</b>" in part and "kind <b>verbatim</b>" in part
    assert item.split()[0] in part  # the benchmark item's own text is shown
    if (state.matches["method"] == "template").any():
        assert "numbers: " in part and "method <b>template</b>" in part


def test_user_text_is_escaped(demo: tuple[Any, Path, Any]) -> None:
    state, _, _ = demo
    evil = "<script>alert('x')</script> & \\frac{1}{2} <b>bold</b> new problem: x"
    saved = state.rejected
    state.rejected = saved.with_columns(problem=pl.lit(evil))
    try:
        html = render_run(state)
    finally:
        state.rejected = saved
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; \\frac{1}{2}" in html
    assert highlight("a<b", [(1, 2)]) == "<pre>a<mark>&lt;</mark>b</pre>"


def test_tokens_section_renders_what_is_there(demo: tuple[Any, Path, Any]) -> None:
    state, _, _ = demo
    assert "No token report in this run" in render_run(state)
    state.token_stats = {
        "train": {"rows": 1350, "full_mean_with_system": 341.5, "p50": 300, "p90": 612, "p95": 700,
                  "p99": 901, "max": 1234, "loss_tokens": 98765,
                  "histogram": {"edges": [0, 256, 512, 1024, 2048], "counts": [400, 700, 240, 10]}},
        "val": {"rows": 151, "p50": 301, "histogram": {"edges": [0, 256, 512, 1024, 2048], "counts": [40, 80, 30, 1]}},
        "cost": {"usd_per_epoch": 12.5, "capacity": {"rows_per_hour": 4000}},
    }  # fmt: skip
    try:
        html = render_run(state)
    finally:
        state.token_stats = None
    part = html[html.index('id="tokens"') :]
    assert "No token report" not in part and "98,765" in part and "1,234" in part
    assert "cost.usd_per_epoch" not in part and "usd_per_epoch" in part and "capacity.rows_per_hour" in part
    assert "<svg" in part and "Rendered row length" in part


def test_write_html_report_rebuilds_from_the_folder(demo: tuple[Any, Path, Any]) -> None:
    _, out, registry = demo
    page = out / "reports/report.html"
    page.unlink()
    assert write_html_report(out, registry) == page
    html = page.read_text(encoding="utf-8")
    assert 'id="contamination"' in html and "<mark>cannot spend more than</mark>" in html


def test_page_size_is_bounded_on_a_huge_run(demo: tuple[Any, Path, Any]) -> None:
    """1M rejected rows (the first thousands with 20 kB solutions) and 50k long matches: still small."""
    state, _, _ = demo
    small = len(render_run(state).encode("utf-8"))
    saved = (state.rejected, state.verdicts, state.matches)
    n, first = 1_000_000, 4_000
    rej = saved[0]
    big = rej.sample(n, with_replacement=True, seed=1).with_columns(
        row_index=pl.int_range(0, n, dtype=pl.UInt32) + 10_000_000
    )
    # Long texts only where the page samples (lowest row_index): memory stays modest.
    big = big.with_columns(
        generated_solution=pl.when(pl.col("row_index") < 10_000_000 + first)
        .then(pl.col("generated_solution") + pl.lit(" step & <more>." * 1500))
        .otherwise(pl.col("generated_solution"))
    )
    verdicts = saved[1].join(rej.select("row_index"), on="row_index").sample(n, with_replacement=True, seed=1)
    verdicts = verdicts.with_columns(row_index=big["row_index"])
    matches = (
        saved[2]
        .sample(50_000, with_replacement=True, seed=2)
        .with_columns(problem=pl.col("problem") + pl.lit(" and more text" * 200))
    )
    state.rejected, state.verdicts, state.matches = big, verdicts, matches
    try:
        html = render_run(state)
    finally:
        state.rejected, state.verdicts, state.matches = saved
    size = len(html.encode("utf-8"))
    assert size < 5_000_000, size
    assert size < 4 * small  # the same order as the demo's page: samples, not rows
    assert "50000 matches in all" in html and f"({EXAMPLES_PER_RULE} of " in html


def test_shared_spans_cover_common_word_runs() -> None:
    text = "Tom has 3 apples and buys 5 more apples today."
    other = "tom has 3 apples and buys 7 more apples"
    spans = shared_word_spans(text, other)
    assert [text[s:e] for s, e in spans] == ["Tom has 3 apples and buys"]
