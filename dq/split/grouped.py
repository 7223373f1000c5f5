"""Built-in splitters. ``dq.grouped`` is the study's grouped split, reproduced exactly."""

from __future__ import annotations

import random
from array import array
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from pydantic import Field

from dq.api.run import Options, SplitResult, Splitter
from dq.text import vector

if TYPE_CHECKING:
    from dq.api.run import RunState

SPLIT_RULE = (
    "group rows by canonical problem text before train/validation split so repeated or "
    "answer-variant solutions for the same problem cannot cross splits"
)


class GroupedOptions(Options):
    seed: int = Field(20260420, description="Seed of the single random.Random driving the split.")
    val_ratio: float = Field(0.1, gt=0, lt=1, description="Target share of rows in val.")
    source_order: list[str] = Field(
        default_factory=lambda: ["gsm8k", "math"],
        description="Group insertion order: rows of these sources first, in this order.",
    )
    near_duplicates: bool = Field(
        False, description="Also merge groups whose problems are MinHash near-duplicates (not in the study)."
    )
    near_threshold: float = Field(0.7, ge=0, le=1, description="Estimated Jaccard that joins two problems.")


def group_ids(
    rows: pl.DataFrame, source_order: list[str], near_threshold: float | None = None
) -> tuple[pl.DataFrame, int]:
    """Each row's group (canonical problem), numbered in first-insertion order over sources."""
    rank = {s: i for i, s in enumerate(source_order)}
    # Only the two columns it needs: the sort and join below copy what they carry, and a
    # streamed run's accepted rows are millions (docs/scale.md).
    ordered = (
        vector.with_canonical(rows)
        .select("source", "canonical")
        .with_row_index("pos")
        .with_columns(
            source_rank=pl.col("source").replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
        )
    )
    # The study iterates sources in order, rows in stream order; unlisted sources come last.
    ordered = ordered.sort(["source_rank", "pos"], maintain_order=True)
    first_seen = ordered.select(pl.col("canonical").unique(maintain_order=True))["canonical"]
    labels = np.arange(first_seen.len())
    if near_threshold is not None and first_seen.len():
        # The components the leakage gate checks (one definition, on the same canonical texts),
        # numbered densely in first-seen order.
        from dq.contamination.leakage import near_components

        labels = near_components(first_seen, near_threshold)["component"].to_numpy()
    numbering = pl.DataFrame({"canonical": first_seen, "group": labels})
    grouped = ordered.join(numbering, on="canonical", how="left", maintain_order="left")
    return grouped.select("pos", "group"), int(labels.max()) + 1 if labels.size else 0


class GroupedSplitResult(SplitResult):
    """A grouped split, plus each row's group (by position in the rows split) for diagnostics."""

    groups: pl.Series
    group_kind: str = "group"


def study_fill(sizes: np.ndarray, target: int) -> np.ndarray:
    """The study's fill over groups in shuffled order: to val while the val total is below target."""
    before = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return before < target


def balanced_fill(counts: pl.DataFrame, order: list[int], val_ratio: float) -> np.ndarray:
    """Val fill per source over groups in shuffled ``order``, skipping groups that would overshoot.

    ``counts`` has one row per (``group``, ``source``) with its row count ``len``; each source's
    target is ``round(rows * val_ratio)``. First pass, in order: a group goes to val when it fits,
    i.e. no source of it passes its target. Second pass, for the gaps left (only groups larger
    than them remain): a group goes to val when it brings its sources closer to their targets
    (summed distance). Returns val per rank (position in ``order``).
    """
    code = {s: i for i, s in enumerate(sorted(counts["source"].unique().to_list()))}
    counts = counts.with_columns(code=pl.col("source").replace_strict(code, return_dtype=pl.Int64))
    totals = counts.group_by("code").agg(pl.col("len").sum()).sort("code")["len"].to_list()
    gap = [round(n * val_ratio) for n in totals]  # the val rows each source still lacks
    parts: dict[int, list[tuple[int, int]]] = {}
    for group, c, n in counts.sort("group", "code").select("group", "code", "len").iter_rows():
        parts.setdefault(group, []).append((c, n))
    to_val = np.zeros(len(order), dtype=bool)
    for closer in (False, True):
        for rank, group in enumerate(order):
            if max(gap, default=0) <= 0:  # every source at or past its target: no group can help
                return to_val
            part = parts[group]
            if to_val[rank] or not (
                sum(abs(gap[c]) - abs(gap[c] - n) for c, n in part) > 0
                if closer
                else all(n <= gap[c] for c, n in part)
            ):
                continue
            to_val[rank] = True
            for c, n in part:
                gap[c] -= n
    return to_val


class GroupedSplitter(Splitter):
    """Group by canonical problem, seeded group shuffle, greedy val fill, then row shuffles.

    Exactly the study's algorithm: one ``random.Random(seed)``; groups in first-insertion order
    (sources in ``source_order``, rows in input order); ``rng.shuffle(groups)``; target
    ``round(n * val_ratio)`` (banker's rounding); a group goes to val while the val total is
    below the target (so val may overshoot); rows flattened group by group; then
    ``rng.shuffle(train)`` and ``rng.shuffle(val)``, in that order.

    With ``near_duplicates`` (not in the study) the groups are near-duplicate components, which
    can be large, and the fill is :func:`balanced_fill`: per source, a component that would
    overshoot its source's target is skipped for smaller ones; the shuffles stay as above.
    """

    name = "dq.grouped"
    description = SPLIT_RULE
    Options = GroupedOptions

    def split(self, rows: pl.DataFrame, state: RunState | None = None) -> GroupedSplitResult:
        opts = self.options
        near = opts.near_threshold if opts.near_duplicates else None
        grouped, n_groups = group_ids(rows, opts.source_order, near)
        rng = random.Random(opts.seed)
        # shuffle() draws depend only on the length, so shuffling indices equals shuffling groups.
        order = list(range(n_groups))
        rng.shuffle(order)
        if near is None:
            sizes = np.bincount(grouped["group"].to_numpy(), minlength=n_groups)
            to_val = study_fill(sizes[np.asarray(order, dtype=np.int64)], round(rows.height * opts.val_ratio))
        else:
            counts = grouped.with_columns(source=rows["source"].gather(grouped["pos"])).group_by(
                "group", "source"
            )
            to_val = balanced_fill(counts.len(), order, opts.val_ratio)
        rank = np.empty(n_groups, dtype=np.int64)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(n_groups)
        flat = grouped.with_columns(rank=pl.Series(rank)[grouped["group"]]).sort("rank", maintain_order=True)
        in_val = pl.Series(to_val)[flat["rank"]]
        # Shuffled in place as 8-byte machine ints: the same draws and swaps as shuffling lists,
        # without a Python int object per row.
        train = array("q", flat.filter(~in_val)["pos"].cast(pl.Int64).to_numpy().tobytes())
        val = array("q", flat.filter(in_val)["pos"].cast(pl.Int64).to_numpy().tobytes())
        rng.shuffle(train)
        rng.shuffle(val)
        return GroupedSplitResult(
            train=train,
            val=val,
            train_groups=int((~to_val).sum()),
            val_groups=int(to_val.sum()),
            groups=grouped.sort("pos")["group"],
            group_kind="group" if near is None else "near-duplicate component",
        )
