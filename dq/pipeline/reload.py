"""A finished run folder back into a run state: what ``dq report`` and ``dq review apply`` build on.

A run folder holds all the gate and the reporters need: ``raw/{train,val}.jsonl`` (the rows),
``raw/index.jsonl`` (each curated row's input position, per split in the order the splitter
left them, before any gate dropped rows; a dropped row carries its content), ``rejected.jsonl``
and ``verdicts.jsonl`` (the rejects and every rule that fired), and ``manifest.json`` (rule set,
input, benchmarks, gates, group counts). :func:`reload_state` rebuilds the state the split stage
leaves behind, so the stages after it (gate, render, write) and every reporter run as in ``dq run``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from dq.api.run import Plan, RunState, SplitResult, Stage, StageInputMissing
from dq.data.benchmarks import DEMO_SOURCE
from dq.data.reader import file_sha256, iter_jsonl
from dq.data.rows import RAW_FIELDS
from dq.errors import DqError
from dq.pipeline.plan import RunOptions, build_plan
from dq.pipeline.ruleset import load_rule_set
from dq.plugins import Registry

ROW_INDEX = "raw/index.jsonl"
SIDES = ("train", "val")
#: The files a reload reads; each must still have the sha256 the manifest records.
READS = ("raw/train.jsonl", "raw/val.jsonl", ROW_INDEX, "rejected.jsonl", "verdicts.jsonl")
ROW_SCHEMA: dict[str, Any] = {"row_index": pl.Int64, **{f: pl.String for f in RAW_FIELDS}}
INDEX_SCHEMA: dict[str, Any] = {"split": pl.String, "dropped": pl.Boolean, **ROW_SCHEMA}
REJECTED_SCHEMA: dict[str, Any] = {**ROW_SCHEMA, "reason": pl.String, "rules": pl.String}
VERDICT_SCHEMA: dict[str, Any] = {"row_index": pl.Int64, "rule": pl.String, "detail": pl.String}
LEAKAGE = "train_val_overlap"


def write_reports(state: RunState, work: Path) -> None:
    """Every reporter of the plan into ``work/reports``, in order, each file's sha256 in the outputs."""
    import hashlib

    for reporter in state.plan.reporters:
        path = work / "reports" / reporter.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        data = reporter.write(state)
        digest = hashlib.sha256()
        with path.open("wb") as f:
            for chunk in [data] if isinstance(data, bytes | bytearray) else data:
                f.write(chunk)
                digest.update(chunk)
        state.outputs[f"reports/{reporter.filename}"] = digest.hexdigest()


def run_stages(state: RunState, stages: Sequence[Stage]) -> None:
    """Run ``stages`` over ``state`` in order, timed (as ``dq run`` does, without its hooks)."""
    try:
        for stage in stages:
            start = time.perf_counter()
            stage.run(state)
            state.timings[stage.name] = round(time.perf_counter() - start, 3)
    except StageInputMissing as exc:
        raise DqError(str(exc)) from None


def stage_files(plan: Plan) -> set[str]:
    """The files the plan's stages declare they write (``Stage.writes``)."""
    return {path for stage in plan.stages for path in getattr(stage, "writes", ())}


def after_split(plan: Plan) -> tuple[Stage, ...]:
    """The plan's stages after the one that splits (gate, render, write in the default pipeline)."""
    last = max((i for i, s in enumerate(plan.stages) if "train" in s.provides), default=None)
    if last is None:
        raise DqError(f"{plan.rule_set.source_path}: pipeline has no stage that splits rows into train/val")
    # A new data version re-gates, re-renders and re-counts; it does not retrain or re-evaluate.
    return tuple(s for s in plan.stages[last + 1 :] if not {"adapters", "evaluations"} & set(s.provides))


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise DqError(f"{path}: missing; is {run_dir} a folder written by dq run?")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DqError(f"{path}: not valid JSON: {exc}") from None
    kinds = {"rule_set": dict, "input": dict, "outputs": dict, "gates": list, "split_group_counts": dict}
    for key, kind in kinds.items():
        if not isinstance(manifest, dict) or not isinstance(manifest.get(key), kind):
            raise DqError(f"{path}: field '{key}' missing or not a {kind.__name__}; not a dq run manifest")
    return manifest


def check_reads(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Each file a reload reads must be there with the sha256 the manifest records."""
    for rel in READS:
        path, recorded = run_dir / rel, manifest["outputs"].get(rel)
        if recorded is None or not path.is_file():
            older = " (written by a dq without it: rerun dq run)" if rel == ROW_INDEX else ""
            raise DqError(f"{path}: missing{older}; {run_dir} is not a complete dq run folder")
        if file_sha256(path) != recorded:
            raise DqError(
                f"{path}: sha256 differs from {run_dir / 'manifest.json'} (changed after dq wrote it); "
                "restore it or rerun dq run"
            )


def plan_for(
    run_dir: Path,
    manifest: dict[str, Any],
    registry: Registry,
    rules: Path | None = None,
    benchmarks: Sequence[str] = (),
) -> Plan:
    """The plan of a finished run: its recorded rule set (unchanged) unless ``rules`` is given.

    Benchmarks are those the run recorded, replaced or extended by ``benchmarks`` (as
    ``--benchmark`` in ``dq run``); a contamination action given on the run's command line is
    read back from the recorded gates.
    """
    where = run_dir / "manifest.json"
    recorded = manifest["rule_set"]
    if rules is None:
        rules = Path(str(recorded.get("path", "")))
        if not rules.is_file():
            raise DqError(
                f"{rules}: rule set recorded in {where} not found (a relative path is read from the "
                "current folder); pass --rules RULES"
            )
        sha = file_sha256(rules)
        if sha != recorded.get("sha256"):
            raise DqError(
                f"{rules}: rule set changed since the run (sha256 {sha[:12]}, {where} records "
                f"{str(recorded.get('sha256'))[:12]}); pass --rules {rules} to use it as it is now"
            )
    info = manifest["input"]
    input_spec = None if info.get("kind") == "demo" else info.get("path")
    options = RunOptions(
        input_spec=input_spec,
        benchmarks=[*_recorded_benchmarks(manifest, input_spec is None, benchmarks), *benchmarks],
        contamination_action=_recorded_action(manifest, rules),
    )
    return build_plan(rules, registry, options)


def _recorded_benchmarks(manifest: dict[str, Any], demo: bool, more: Sequence[str]) -> list[str]:
    """``NAME=SOURCE#FIELD`` for each benchmark the run recorded (none when a demo run's own suffices)."""
    recorded = manifest.get("benchmarks") or {}
    if demo and not more and all(b.get("source") == DEMO_SOURCE for b in recorded.values()):
        return []
    return [f"{name}={b['source']}#{b.get('field', '')}" for name, b in recorded.items() if b.get("source")]


def _recorded_action(manifest: dict[str, Any], rules: Path) -> str | None:
    """The ``--contamination-action`` of the run: one action on every check gate, unlike the rule set."""
    entries = load_rule_set(rules).contamination
    gates = [g for g in manifest["gates"] if isinstance(g, dict) and g.get("name") != LEAKAGE]
    actions = {g.get("action") for g in gates}
    if len(gates) != len(entries) or [g.get("name") for g in gates] != [e.check for e in entries]:
        return None
    if len(actions) == 1 and [e.action for e in entries] != [g.get("action") for g in gates]:
        return str(actions.pop())
    return None


def read_rows(path: Path, schema: dict[str, Any], optional: Sequence[str] = ()) -> pl.DataFrame:
    """A dq JSONL output as a table of ``schema``; a bad line is one error naming file, line, field.

    Every field but the ``optional`` ones must be on every line.
    """
    if not path.is_file():
        raise DqError(f"{path}: missing; is this a dq run folder?")
    if path.stat().st_size == 0:
        return pl.DataFrame(schema=schema)
    required = [c for c in schema if c not in optional]
    try:
        frame = pl.read_ndjson(path, schema=schema)
    except pl.exceptions.PolarsError as exc:
        raise DqError(_locate(path, schema, required) or f"{path}: unreadable: {exc}") from None
    bad = frame.select(required).null_count().sum_horizontal().item()
    if bad or ("row_index" in frame.columns and (frame["row_index"] < 0).any()):
        raise DqError(_locate(path, schema, required) or f"{path}: null or negative values")
    return frame


def _locate(path: Path, schema: dict[str, Any], required: Sequence[str]) -> str | None:
    """The first line with a missing required field or a field of the wrong type."""
    for lineno, obj in iter_jsonl(path):
        for name, dtype in schema.items():
            want: type = int if dtype == pl.Int64 else (bool if dtype == pl.Boolean else str)
            value = obj.get(name)
            if value is None and name not in required:
                continue
            if not isinstance(value, want) or (isinstance(value, int) and value < 0):
                got = "missing" if name not in obj else repr(value)[:40]
                return f"{path}:{lineno}: field '{name}' must be a {want.__name__}, got {got}"
    return None


def _before_gate(run_dir: Path, side: str, index: pl.DataFrame) -> pl.DataFrame:
    """One side's rows in split order, rows a gate dropped put back from the index."""
    raw = read_rows(run_dir / f"raw/{side}.jsonl", {f: pl.String for f in RAW_FIELDS})
    mine = index.filter(pl.col("split") == side).with_row_index("order")
    kept = mine.filter(~pl.col("dropped").fill_null(False))
    if kept.height != raw.height:
        raise DqError(
            f"{run_dir / ROW_INDEX}: lists {kept.height} {side} rows, raw/{side}.jsonl holds {raw.height}"
        )
    rows = raw.with_columns(row_index=kept["row_index"], order=kept["order"]).select("order", *ROW_SCHEMA)
    dropped = mine.filter(pl.col("dropped").fill_null(False)).select("order", *ROW_SCHEMA)
    if dropped.select(RAW_FIELDS).null_count().sum_horizontal().item():
        raise DqError(f"{run_dir / ROW_INDEX}: a dropped row lacks its fields")
    return pl.concat([rows, dropped]).sort("order").drop("order")


def reload_state(run_dir: Path, plan: Plan, manifest: dict[str, Any], quiet: bool = True) -> RunState:
    """The state as the split stage leaves it (rows before any gate), from a finished run folder."""
    check_reads(run_dir, manifest)
    index = read_rows(run_dir / ROW_INDEX, INDEX_SCHEMA, ("dropped", *RAW_FIELDS))
    if not index["split"].is_in(list(SIDES)).all():
        raise DqError(f"{run_dir / ROW_INDEX}: field 'split' must be train or val")
    state = RunState(plan=plan, out_dir=run_dir, quiet=quiet)
    state.input_info = manifest["input"]
    state.parent, state.resumed = manifest.get("parent"), dict(manifest.get("resumed") or {})
    groups = manifest["split_group_counts"]
    set_rows(
        state,
        {side: _before_gate(run_dir, side, index) for side in SIDES},
        read_rows(run_dir / "rejected.jsonl", REJECTED_SCHEMA).drop("rules"),
        read_rows(run_dir / "verdicts.jsonl", VERDICT_SCHEMA),
        (int(groups.get("train", 0)), int(groups.get("val", 0))),
        int((manifest.get("rows") or {}).get("input", 0)),
    )
    # Outputs listed before the reporters ran: the folder's files but the reporters' and the row
    # index (reports/ files a stage wrote, such as the study comparison, stay).
    by_stages = stage_files(plan)
    state.outputs = {
        k: v
        for k, v in manifest["outputs"].items()
        if (not k.startswith("reports/") or k in by_stages) and k != ROW_INDEX
    }
    return state


def set_rows(
    state: RunState,
    sides: dict[str, pl.DataFrame],
    rejected: pl.DataFrame,
    verdicts: pl.DataFrame,
    groups: tuple[int, int],
    input_rows: int = 0,
) -> None:
    """Fill ``state`` as curate and split leave it, from each side's rows in split order.

    Accepted and considered rows are in input order (``row_index``), as curate makes them.
    """
    from dq.text.vector import with_canonical

    index = pl.UInt32
    train, val = (sides[s].with_columns(pl.col("row_index").cast(index)) for s in SIDES)
    accepted = with_canonical(pl.concat([train, val]).sort("row_index"))
    twice = accepted.filter(pl.col("row_index").is_duplicated())["row_index"]
    if twice.len():
        raise DqError(
            f"{ROW_INDEX}: row_index {twice[0]} names two curated rows; the run folder is inconsistent"
        )
    position = accepted.select("row_index").with_row_index("at")
    at = {
        s: f.select("row_index").join(position, on="row_index", maintain_order="left")["at"]
        for s, f in zip(SIDES, (train, val), strict=True)
    }
    state.split = SplitResult(
        train=at["train"].to_list(), val=at["val"].to_list(), train_groups=groups[0], val_groups=groups[1]
    )
    state.accepted = accepted
    state.train, state.val = accepted[state.split.train], accepted[state.split.val]
    state.rejected = rejected.with_columns(pl.col("row_index").cast(index)).sort(
        "row_index", maintain_order=True
    )
    state.verdicts = verdicts.with_columns(pl.col("row_index").cast(index)).sort(
        "row_index", maintain_order=True
    )
    considered = pl.concat(
        [accepted.select("row_index", "source"), state.rejected.select("row_index", "source")]
    )
    state.considered = considered.sort("row_index")
    reasons = Counter(zip(state.rejected["source"], state.rejected["reason"], strict=True))
    state.reject_reasons = {f"{s}:{r}": n for (s, r), n in reasons.most_common()}
    has_count = "rows" in state.input_info
    state.rows = state.considered if has_count else pl.DataFrame({"row_index": range(input_rows)})
