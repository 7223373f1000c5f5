"""The study's charts (fig_03/04/05/06/08) drawn from their own data CSV rows, so a chart shows its CSV.

Matplotlib's Agg canvas on a :class:`~matplotlib.figure.Figure` (never pyplot: nothing global), the
study's palette and markers (SEED_CONTRACTS §7), and no timestamps or software tags in the files,
so the same rows give the same PNG and PDF bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Rows = list[dict[str, str]]
PALETTE = {"baseline": "#666666", "attention_only": "#1f77b4", "all_layer": "#ff7f0e"}
MARKERS = {"baseline": "D", "attention_only": "o", "all_layer": "s"}
OTHER = ("#2ca02c", "#d62728", "#9467bd", "#8c564b")
PNG_META: dict[str, Any] = {"Software": None}
PDF_META: dict[str, Any] = {"Creator": None, "Producer": None, "CreationDate": None}


def _style(name: str, index: int = 0) -> dict[str, Any]:
    return {"color": PALETTE.get(name, OTHER[index % len(OTHER)]), "marker": MARKERS.get(name, "^")}


def _figure(width: float = 6.4, height: float = 3.6) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def accuracy(rows: Rows, title: str) -> Figure:
    """fig_03: each seed's accuracy, the condition mean with its min/max range, the baseline dashed."""
    fig, ax = _figure()
    tuned = list(dict.fromkeys(r["condition"] for r in rows if r["kind"] != "baseline"))
    for i, name in enumerate(tuned):
        seeds = [float(r["accuracy"]) for r in rows if r["condition"] == name and r["kind"] == "seed"]
        mean = next(float(r["accuracy"]) for r in rows if r["condition"] == name and r["kind"] == "mean")
        style = _style(name, i)
        ax.scatter([i] * len(seeds), seeds, color=style["color"], marker=style["marker"], alpha=0.6, zorder=3)
        ax.errorbar([i + 0.15], [mean], yerr=[[mean - min(seeds)], [max(seeds) - mean]], capsize=4,
                    color=style["color"], marker=style["marker"], markersize=8, label=f"{name} mean {mean:.4f}")  # fmt: skip
    for r in rows:
        if r["kind"] == "baseline":
            value = float(r["accuracy"])
            ax.axhline(value, color=PALETTE["baseline"], linestyle="--", label=f"baseline {value:.4f}")
    ax.set_xticks(range(len(tuned)), tuned)
    ax.set_xlim(-0.6, len(tuned) - 0.25)
    ax.set_ylabel("GSM8K accuracy")
    return _finish(fig, ax, title)


def slope(rows: Rows, title: str) -> Figure:
    """fig_04: per seed, the items only one condition got right, joined by a line."""
    fig, ax = _figure()
    first, second = (k for k in rows[0] if k.endswith("_only"))
    for r in rows:
        ax.plot([0, 1], [int(r[first]), int(r[second])], color="#999999", zorder=1)
        ax.annotate(
            f"seed {r['seed']} (Δ {int(r['disagreement_delta']):+d})", (1.03, int(r[second])), fontsize=8
        )
    for x, key in enumerate((first, second)):
        name = key.removesuffix("_only")
        style = _style(name, x)
        ax.scatter([x] * len(rows), [int(r[key]) for r in rows], s=40, zorder=3, label=name, **style)
    ax.set_xticks([0, 1], [f"{first.removesuffix('_only')} only", f"{second.removesuffix('_only')} only"])
    ax.set_xlim(-0.3, 1.6)
    ax.set_ylabel("items answered correctly by one condition only")
    return _finish(fig, ax, title)


def nll(rows: Rows, title: str) -> Figure:
    """fig_05: validation NLL by step, thin lines per seed and a thick line per condition mean."""
    fig, ax = _figure()
    names = list(dict.fromkeys(r["condition"] for r in rows))
    for i, name in enumerate(names):
        style = _style(name, i)
        for seed in dict.fromkeys(r["seed"] for r in rows if r["condition"] == name):
            pts = [(int(r["step"]), float(r["validation_mean_nll"])) for r in rows
                   if r["condition"] == name and r["seed"] == seed]  # fmt: skip
            mean = seed == ""
            ax.plot(*zip(*pts, strict=True), color=style["color"], marker=style["marker"] if mean else None,
                    linewidth=2 if mean else 0.8, alpha=1 if mean else 0.45,
                    label=f"{name} mean" if mean else None)  # fmt: skip
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation mean NLL")
    return _finish(fig, ax, title)


def lr(rows: Rows, title: str) -> Figure:
    """fig_06: best validation NLL per learning rate (log axis), one line per condition."""
    fig, ax = _figure()
    for i, name in enumerate(dict.fromkeys(r["condition"] for r in rows)):
        pts = sorted(
            (float(r["lr"]), float(r["validation_mean_nll"])) for r in rows if r["condition"] == name
        )
        ax.plot(*zip(*pts, strict=True), label=name, **_style(name, i))
        best = min(pts, key=lambda p: p[1])
        ax.annotate(f"{best[1]:.6f}", best, textcoords="offset points", xytext=(0, -12), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("best validation mean NLL")
    return _finish(fig, ax, title)


def throughput(rows: Rows, title: str) -> Figure:
    """fig_08: seconds per optimizer step per request shape."""
    fig, ax = _figure()
    shapes = [r["request_shape"] for r in rows]
    values = [float(r["seconds_per_optimizer_step"]) for r in rows]
    bars = ax.barh(range(len(shapes)), values, color=PALETTE["attention_only"])
    ax.bar_label(bars, labels=[f"{v:.2f} s" for v in values], padding=3)
    ax.margins(x=0.15)  # room for the labels
    ax.set_yticks(range(len(shapes)), shapes)
    ax.invert_yaxis()
    ax.set_xlabel("seconds per optimizer step")
    return _finish(fig, ax, title, legend=False)


def _finish(fig: Figure, ax: Axes, title: str, legend: bool = True) -> Figure:
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=8, loc="best")
    return fig


CHARTS: dict[str, Callable[[Rows, str], Figure]] = {
    "fig_03_gsm8k_accuracy_chart": accuracy,
    "fig_04_paired_seed_slope": slope,
    "fig_05_validation_nll_diagnostic": nll,
    "fig_06_lr_selection": lr,
    "fig_08_throughput_probe": throughput,
}


def save(fig: Figure, stem: Path, pdf: bool = True) -> list[Path]:
    """Write ``stem.png``, ``stem.grayscale.png`` (PIL ``convert("L")``) and, optionally, ``stem.pdf``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    FigureCanvasAgg(fig)
    png = stem.with_suffix(".png")
    fig.savefig(png, format="png", metadata=PNG_META)
    gray = stem.with_name(f"{stem.name}.grayscale.png")
    with Image.open(png) as image:
        image.convert("L").save(gray, format="PNG")
    out = [png, gray]
    if pdf:
        fig.savefig(stem.with_suffix(".pdf"), format="pdf", metadata=PDF_META)
        out.append(stem.with_suffix(".pdf"))
    return out
