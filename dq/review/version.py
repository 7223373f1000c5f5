"""New dataset versions from reviewers' keep/drop decisions: full versions, re-gated and reported.

The parent folder is reloaded as the split stage left it (:mod:`dq.pipeline.reload`). Rows marked
``drop`` leave their split and become rejected rows (reason ``review_drop``); rejected rows marked
``keep`` are reinstated on the side that holds their problem (train when neither does), so the
grouped split's promise holds. Then the plan's stages after the split (gate, render, write) run
as in ``dq run``: counts, reasons, gates and status are recomputed, reinstated rows are gated,
and every file of a run is written, with a manifest whose ``parent`` names the parent's manifest
and the decisions file by sha256. Each decision is also a verdict (``review_drop`` or
``review_keep``, the reviewer's note as detail).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from dq.api.run import Plan, RunState
from dq.data.outdir import check_target, staged
from dq.data.rows import RAW_FIELDS
from dq.errors import DqError
from dq.pipeline.reload import (
    SIDES,
    after_split,
    plan_for,
    read_manifest,
    reload_state,
    run_stages,
    set_rows,
)
from dq.plugins import Registry
from dq.review.pack import KEY_FIELDS, read_decisions, row_key

REVIEW_DROP = "review_drop"
REVIEW_KEEP = "review_keep"
ROW = ("row_index", *RAW_FIELDS)


def apply_decisions(
    run_dir: Path,
    decisions_path: Path,
    out_dir: Path,
    registry: Registry,
    rules: Path | None = None,
    benchmarks: Sequence[str] = (),
    overwrite: bool = False,
    quiet: bool = True,
) -> RunState:
    """Write the version of ``run_dir`` that ``decisions_path`` asks for into ``out_dir``; its state."""
    check_target(out_dir, overwrite, [run_dir, decisions_path])  # before any work; staged checks again
    decisions = read_decisions(decisions_path)
    manifest = read_manifest(run_dir)
    plan = plan_for(run_dir, manifest, registry, rules, benchmarks)
    parent = reload_state(run_dir, plan, manifest, quiet)
    sides = {s: parent.require(s).select(ROW) for s in SIDES}
    rejected = parent.require("rejected").select(*ROW, "reason")
    keys = {name: _keys(frame) for name, frame in (*sides.items(), ("rejected", rejected))}
    known = set().union(*(k.to_list() for k in keys.values()))
    unknown = sorted((line, key) for key, (_, _, line) in decisions.items() if key not in known)
    if unknown:
        raise DqError(
            f"{decisions_path}:{unknown[0][0]}: row_key '{unknown[0][1]}' is not in {run_dir} "
            f"({len(unknown)} unknown)"
        )
    drop = pl.Series([k for k, (d, _, _) in decisions.items() if d == "drop"], dtype=pl.String)
    keep = pl.Series([k for k, (d, _, _) in decisions.items() if d == "keep"], dtype=pl.String)
    dropped = pl.concat([sides[s].filter(keys[s].is_in(drop.implode())) for s in SIDES])
    sides = {s: sides[s].filter(~keys[s].is_in(drop.implode())) for s in SIDES}
    reinstate = keys["rejected"].is_in(keep.implode())
    reinstated = rejected.filter(reinstate).select(ROW)
    rejected = pl.concat([rejected.filter(~reinstate), dropped.with_columns(reason=pl.lit(REVIEW_DROP))])
    sides = _reinstate(sides, reinstated)
    notes = {k: note for k, (_, note, _) in decisions.items()}
    verdicts = pl.concat(
        [
            parent.require("verdicts"),
            _verdicts(dropped, REVIEW_DROP, notes),
            _verdicts(reinstated, REVIEW_KEEP, notes),
        ]
    )
    state = RunState(plan=plan, out_dir=out_dir, quiet=quiet, overwrite=overwrite)
    state.input_info = parent.input_info
    groups = (_groups(plan, sides["train"]), _groups(plan, sides["val"]))
    set_rows(state, sides, rejected, verdicts, groups, parent.require("rows").height)
    state.parent = {
        "path": str(run_dir / "manifest.json"),
        "manifest_sha256": hashlib.sha256((run_dir / "manifest.json").read_bytes()).hexdigest(),
        "decisions_path": str(decisions_path),
        "decisions_sha256": hashlib.sha256(decisions_path.read_bytes()).hexdigest(),
        "dropped_rows": dropped.height,
        "reinstated_rows": reinstated.height,
    }
    with staged(out_dir, overwrite, "review", [run_dir, decisions_path]) as work:
        state.work_dir = work
        run_stages(state, after_split(plan))
    return state


def _keys(frame: pl.DataFrame) -> pl.Series:
    """Each row's ``row_key`` (the key reviewers decide by)."""
    rows = frame.select(KEY_FIELDS).iter_rows(named=True)
    return pl.Series("row_key", [row_key(r) for r in rows], dtype=pl.String)


def _reinstate(sides: dict[str, pl.DataFrame], rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Reinstated rows appended to val when val holds their canonical problem, else to train."""
    from dq.text.vector import canonical_problem

    val_problems = canonical_problem(sides["val"]["problem"]).implode()
    to_val = canonical_problem(rows["problem"]).is_in(val_problems)
    return {
        "train": pl.concat([sides["train"], rows.filter(~to_val)]),
        "val": pl.concat([sides["val"], rows.filter(to_val)]),
    }


def _verdicts(rows: pl.DataFrame, rule: str, notes: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row_index": rows["row_index"].cast(pl.UInt32),
            "rule": [rule] * rows.height,
            "detail": [notes.get(k, "") for k in _keys(rows).to_list()],
        },
        schema={"row_index": pl.UInt32, "rule": pl.String, "detail": pl.String},
    )


def _groups(plan: Plan, rows: pl.DataFrame) -> int:
    """Groups of one side as the splitter counts them (canonical problem; near-duplicates when set)."""
    from dq.split.grouped import group_ids

    options = plan.splitter.options
    near = getattr(options, "near_threshold", None) if getattr(options, "near_duplicates", False) else None
    return group_ids(rows, list(getattr(options, "source_order", [])), near)[1]


def summary(state: RunState) -> str:
    """One line: the version's sides, what the decisions changed, its status."""
    parent = state.parent or {}
    return (
        f"{state.out_dir}: train {state.require('train').height}, val {state.require('val').height} rows; "
        f"dropped {parent.get('dropped_rows', 0)}, reinstated {parent.get('reinstated_rows', 0)}; "
        f"status {state.status}"
    )
