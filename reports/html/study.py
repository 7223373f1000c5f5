"""The study page of ``dq compare --html``: accuracy by condition, disagreement, validation NLL, LR selection.

Palette, markers and the seed caveat follow the study's figures (SEED_CONTRACTS §7).
"""

from __future__ import annotations

from typing import Any

from dq_reports.html import charts
from dq_reports.html.page import esc, page, section, table

SEED_CAVEAT = "N=3 seeds per condition; intervals show min/max range across seeds, not statistical confidence intervals."


def _caveat(rows: list[dict[str, Any]]) -> str:
    seeds = {r["seeds"] for r in rows if r["condition"] != "baseline"}
    text = (
        SEED_CAVEAT if seeds == {3} else SEED_CAVEAT.replace("N=3", f"N={'/'.join(map(str, sorted(seeds)))}")
    )
    return f"<p class='note caveat'>{esc(text)}</p>"


def accuracy_section(rows: list[dict[str, Any]]) -> str:
    header = ["condition", "seeds", "mean accuracy", "min", "max", "Δ vs baseline (pp)", "extraction failures",
              "eval tokens"]  # fmt: skip
    cells = [
        [
            r["condition"],
            r["seeds"],
            f"{r['mean_accuracy']:.4f}",
            f"{r['min_accuracy']:.4f}",
            f"{r['max_accuracy']:.4f}",
            f"{r['delta_vs_baseline_pp']:+.3f}" if r["delta_vs_baseline_pp"] is not None else "n/a",
            r["extraction_failures"],
            f"{r['eval_tokens']:,}",
        ]  # fmt: skip
        for r in rows
    ]
    base = next((r["mean_accuracy"] for r in rows if r["condition"] == "baseline"), None)
    tuned = [r for r in rows if r["condition"] != "baseline"]
    chart = charts.accuracy_by_condition(tuned, base, "GSM8K accuracy by condition") if tuned else ""
    checkpoints = "".join(
        f"<li>{esc(r['condition'])}{f' seed {esc(s)}' if s is not None else ''}: <code>{esc(c)}</code></li>"
        for r in rows
        for s, c in zip(r["seed_values"], r["checkpoints"], strict=True)
    )
    body = (
        table(header, cells, numeric=range(1, 8))
        + chart
        + _caveat(rows)
        + f"<h3>Checkpoints evaluated (from each run's summary)</h3><ul class='kv'>{checkpoints}</ul>"
    )
    return section("accuracy", "Accuracy by condition", body)


def disagreement_section(names: tuple[str, str] | None, rows: list[dict[str, Any]]) -> str:
    if names is None or not rows:
        return section(
            "disagreement",
            "Per-seed disagreement",
            "<p class='note'>Needs predictions of two conditions.</p>",
        )
    a, b = names
    header = ["seed", f"{a} correct, {b} wrong", f"{b} correct, {a} wrong", f"Δ ({a} − {b})", "both correct",
              "both wrong"]  # fmt: skip
    cells = [[r["seed"], r["first_only"], r["second_only"], f"{r['delta']:+d}", r["both_correct"], r["both_wrong"]]
             for r in rows]  # fmt: skip
    chart = charts.disagreement_multiples(
        rows, names, "Items only one condition answered correctly, per seed"
    )
    return section("disagreement", "Per-seed disagreement", chart + table(header, cells, numeric=range(1, 6)))


def nll_section(curves: list[dict[str, Any]], best: list[dict[str, Any]]) -> str:
    if not curves:
        return section("nll", "Validation NLL by step", "<p class='note'>No training runs given.</p>")
    chart = charts.nll_by_step(curves, "Validation mean NLL by step")
    cells = [[b["run_id"], b["condition"], b["seed"], b["step"], f"{b['nll']:.6f}", b["recorded_best_step"]]
             for b in best]  # fmt: skip
    rule = "<p class='note'>Selection: lowest validation NLL; exact ties choose the later step.</p>"
    header = ["run", "condition", "seed", "selected step", "NLL", "recorded best step"]
    return section("nll", "Validation NLL by step", chart + rule + table(header, cells, numeric=(2, 3, 4, 5)))


def lr_section(points: list[dict[str, Any]]) -> str:
    if not points:
        return section("lr", "LR selection", "<p class='note'>No LR-selection runs given.</p>")
    cells = [[p["condition"], f"{p['lr']:.0e}", f"{p['nll']:.6f}"] for p in points]
    chart = charts.lr_selection(points, "LR selection: best validation NLL")
    return section(
        "lr", "LR selection", chart + table(["condition", "lr", "best validation NLL"], cells, numeric=(2,))
    )


def verdict_section(data: dict[str, Any]) -> str:
    """The contract-hash warning (first, prominent), the pre-registered verdict and the paired test."""
    warn = "".join(
        f"<p class='warning' style='border:2px solid #b00020;padding:.5em;color:#b00020'><strong>Inputs were produced under different contracts: "
        f"<code>{esc(w['key'])}</code> differs</strong> ("
        + "; ".join(f"<code>{esc(v)}</code>: {len(runs)} run(s)" for v, runs in w["values"].items())
        + ").</p>"
        for w in data.get("contract_mismatches") or []
    )
    v = data["verdict"]
    body = warn + f"<p><strong>Verdict: {esc(v['verdict'])}</strong> ({esc(v['reason'])}).</p>"
    test = data.get("paired_test")
    if test:
        m, bs = test["mcnemar"], test["bootstrap"]
        lo, hi = (x * 100 for x in bs["ci95"])
        body += (
            "<h3>Paired test (beyond the study; diagnostic only)</h3><ul class='kv'>"
            f"<li>McNemar exact (pooled over {test['seeds']} seeds): {m['first_only']} vs "
            f"{m['second_only']} discordant items, p = {m['p_value']:.4f}</li>"
            f"<li>Paired bootstrap of the mean accuracy difference ({esc(' − '.join(test['pair']))}): "
            f"{bs['mean_difference'] * 100:+.3f} points, 95% interval [{lo:+.3f}, {hi:+.3f}] "
            f"({bs['resamples']} resamples, seed {bs['seed']})</li></ul>"
            f"<p class='note caveat'>{esc(test['caveat'])}</p>"
        )
    return section("verdict", "Verdict", body)


def render_study(data: dict[str, Any]) -> str:
    """The study page from :func:`dq_reports.html.compare.study_data`'s dict."""
    names = tuple(data["disagreement_pair"]) if data.get("disagreement_pair") else None
    sections = [
        verdict_section(data),
        accuracy_section(data["table"]),
        disagreement_section(names, data["disagreement"]),  # type: ignore[arg-type]
        nll_section(data["nll_curves"], data["best_checkpoints"]),
        lr_section(data["lr_selection"]),
    ]
    nav = [
        ("verdict", "Verdict"),
        ("accuracy", "Accuracy"),
        ("disagreement", "Disagreement"),
        ("nll", "Validation NLL"),
        ("lr", "LR selection"),
    ]
    meta = f"{esc(data['result_folders'])} result folders"
    return page("dq compare: study comparison", meta, nav, sections)
