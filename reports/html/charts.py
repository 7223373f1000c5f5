"""Charts for the HTML reports: matplotlib figures rendered to inline SVG (no files, no fetches).

Text stays text (``svg.fonttype = none``), so the numbers on a chart are in the page's DOM and
searchable; a fixed hash salt and no date make the SVG bytes deterministic. Figures are built
with :class:`matplotlib.figure.Figure` directly, never pyplot, so nothing global is touched.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The study's palette and markers (SEED_CONTRACTS §7): baseline, attention_only, all_layer.
PALETTE = {"baseline": "#666666", "attention_only": "#1f77b4", "all_layer": "#ff7f0e"}
MARKERS = {"baseline": "D", "attention_only": "o", "all_layer": "s"}
#: Colours for anything else (sources, extra conditions): matplotlib's tab10 minus the two above.
OTHER = ("#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
RC: Any = {  # matplotlib types rc keys as a Literal union; this dict is checked by rc_context
    "svg.fonttype": "none",
    "svg.hashsalt": "dq-report",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def colour(name: str, index: int) -> str:
    """The palette colour of a study condition, else a stable colour by position."""
    return PALETTE.get(name, OTHER[index % len(OTHER)])


def new_figure(width: float = 6.4, height: float = 3.2, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    """A figure with ``ncols`` axes side by side, under the report's style."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def to_svg(fig: Figure, label: str) -> str:
    """The figure as an inline ``<svg>`` element with an accessible label (XML prolog dropped)."""
    from html import escape

    from matplotlib import rc_context

    buf = io.StringIO()
    with rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    svg = text[text.index("<svg") :]
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" class="chart" ', 1)


def grouped_bars(
    categories: Sequence[str], series: dict[str, Sequence[float]], title: str, ylabel: str
) -> str:
    """Bars per category, one bar per series side by side, each labelled with its value."""
    width = max(4.8, 0.9 * len(categories) * max(1, len(series)) ** 0.5 + 2)
    fig, (ax,) = new_figure(min(width, 11), 3.0)
    step = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [c + (i - (len(series) - 1) / 2) * step for c in range(len(categories))]
        bars = ax.bar(xs, values, step * 0.95, label=name, color=colour(name, i))
        ax.bar_label(bars, labels=[f"{int(v):,}" for v in values], fontsize=7, padding=1)
    ax.set_xticks(range(len(categories)), categories)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=8)
    return to_svg(fig, title)


def stacked_barh(categories: Sequence[str], series: dict[str, Sequence[int]], title: str, xlabel: str) -> str:
    """Horizontal stacked bars (e.g. rejects per rule, stacked by source), totals at the end."""
    fig, (ax,) = new_figure(6.4, max(1.6, 0.32 * len(categories) + 1.0))
    left = [0] * len(categories)
    for i, (name, values) in enumerate(series.items()):
        ax.barh(range(len(categories)), values, left=left, label=name, color=colour(name, i))
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in enumerate(left):
        ax.text(total, y, f" {total:,}", va="center", fontsize=8)
    ax.set_yticks(range(len(categories)), categories)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return to_svg(fig, title)


def histogram(edges_counts: dict[str, tuple[Sequence[float], Sequence[int]]], title: str, xlabel: str) -> str:
    """Step histograms from precomputed (edges, counts), one per series (e.g. train and val)."""
    fig, (ax,) = new_figure(6.4, 2.8)
    for i, (name, (edges, counts)) in enumerate(edges_counts.items()):
        if len(edges) == len(counts) + 1 and counts:
            ax.stairs(
                counts, edges, label=name, color=colour(name, i), fill=i == 0, alpha=0.6 if i == 0 else 1
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return to_svg(fig, title)


def accuracy_by_condition(conditions: list[dict[str, Any]], baseline: float | None, title: str) -> str:
    """Each condition's seed accuracies as points, the mean as a bar tick, the baseline dashed."""
    fig, (ax,) = new_figure(5.6, 3.4)
    for i, cond in enumerate(conditions):
        name, seeds = cond["condition"], cond["seed_accuracies"]
        c, m = colour(name, i), MARKERS.get(name, "o")
        ax.scatter([i] * len(seeds), [100 * a for a in seeds], color=c, marker=m, alpha=0.7, zorder=3)
        ax.hlines(100 * cond["mean_accuracy"], i - 0.25, i + 0.25, color=c, linewidth=2.5)
        ax.text(i + 0.28, 100 * cond["mean_accuracy"], f"{100 * cond['mean_accuracy']:.2f}%", va="center")
    if baseline is not None:
        ax.axhline(100 * baseline, color=PALETTE["baseline"], linestyle="--", linewidth=1.2)
        ax.text(
            -0.45, 100 * baseline, f"baseline {100 * baseline:.2f}%", va="bottom", color=PALETTE["baseline"]
        )
    ax.set_xticks(range(len(conditions)), [c["condition"] for c in conditions])
    ax.set_xlim(-0.5, len(conditions) - 0.2)
    ax.set_ylabel("GSM8K accuracy (%)")
    ax.set_title(title)
    return to_svg(fig, title)


def disagreement_multiples(rows: list[dict[str, Any]], names: tuple[str, str], title: str) -> str:
    """One small panel per seed: items only the first condition got right vs only the second."""
    fig, axes = new_figure(2.0 * max(1, len(rows)) + 0.8, 2.6, ncols=max(1, len(rows)))
    top = max([max(r["first_only"], r["second_only"]) for r in rows] or [1]) * 1.25
    for ax, row in zip(axes, rows, strict=False):
        values = [row["first_only"], row["second_only"]]
        bars = ax.bar([0, 1], values, color=[colour(names[0], 0), colour(names[1], 1)], width=0.6)
        ax.bar_label(bars, labels=[str(v) for v in values], fontsize=8)
        ax.set_xticks([0, 1], [f"{names[0]}\nonly", f"{names[1]}\nonly"], fontsize=7)
        ax.set_ylim(0, top)
        ax.set_title(f"seed {row['seed']} (Δ {row['first_only'] - row['second_only']:+d})", fontsize=8)
    axes[0].set_ylabel("items")
    fig.suptitle(title, fontsize=9)
    return to_svg(fig, title)


def nll_by_step(curves: list[dict[str, Any]], title: str) -> str:
    """Validation NLL against step: thin lines per seed, a thick line for each condition's mean."""
    fig, (ax,) = new_figure(6.4, 3.2)
    names = list(dict.fromkeys(c["condition"] for c in curves))
    for c in curves:
        col = colour(c["condition"], names.index(c["condition"]))
        mean = c["seed"] is None
        ax.plot(
            c["steps"],
            c["values"],
            color=col,
            marker=MARKERS.get(c["condition"], "o") if mean else None,
            linewidth=2 if mean else 0.8,
            alpha=1 if mean else 0.45,
            label=f"{c['condition']} mean" if mean else None,
        )
    ax.set_xlabel("step")
    ax.set_ylabel("validation mean NLL")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return to_svg(fig, title)


def lr_selection(points: list[dict[str, Any]], title: str) -> str:
    """Best validation NLL against learning rate (log scale) per condition; the chosen LR ringed."""
    fig, (ax,) = new_figure(5.2, 3.0)
    names = list(dict.fromkeys(p["condition"] for p in points))
    for i, name in enumerate(names):
        mine = sorted((p for p in points if p["condition"] == name), key=lambda p: p["lr"])
        col = colour(name, i)
        ax.plot([p["lr"] for p in mine], [p["nll"] for p in mine], color=col, marker=MARKERS.get(name, "o"))
        best = min(mine, key=lambda p: (p["nll"], p["lr"]))
        ax.scatter([best["lr"]], [best["nll"]], s=160, facecolors="none", edgecolors=col, zorder=3)
        ax.annotate(f"{name}: {best['lr']:.0e}", (best["lr"], best["nll"]), fontsize=7, xytext=(6, -10),
                    textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("peak learning rate")
    ax.set_ylabel("best validation NLL")
    ax.set_title(title)
    if not math.isnan(sum(p["nll"] for p in points)):
        ax.margins(x=0.2)
    return to_svg(fig, title)
