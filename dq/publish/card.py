"""The dataset card (README.md): Hub metadata in YAML front matter, then the run's provenance.

Everything comes from the output folder (manifest, rendered manifest, contamination and token
reports) and the publish options, never from the clock, so the same folder gives the same card.
The front matter's ``configs`` make ``load_dataset(folder_or_repo, "raw" | "rendered")`` read the
Parquet files; ``license`` is the most demanding license of the parts (``other`` when dq does not
know one), unless the publisher sets it.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import TYPE_CHECKING

from dq.publish import licenses
from dq.publish.model import failed_gates
from dq.publish.sections import contamination, curation, rendering, split_section, table, tokens

if TYPE_CHECKING:
    from dq.publish.model import PublishOptions, RunFolder

#: The Hub's ``size_categories`` buckets, by upper bound on the row count.
SIZE_BUCKETS = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)


def size_category(rows: int) -> str:
    for bound, label in SIZE_BUCKETS:
        if rows < bound:
            return label
    return "n>1B"


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _dq_version() -> str:
    try:
        return metadata.version("dq")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def license_parts(run: RunFolder) -> list[tuple[str, licenses.License | None]]:
    inp = run.manifest.get("input") or {}
    sources = list((run.manifest.get("accepted_source_counts") or {}).keys()) or run.manifest.get(
        "sources", []
    )
    return licenses.components(sources, str(inp.get("path", "")), inp.get("kind"))


def front_matter(run: RunFolder, options: PublishOptions, license_id: str) -> str:
    """The YAML block: license, tasks, size, and one config per published folder of splits."""
    rows = sum(s.rows for s in run.splits if s.config == "raw")
    lines = [
        "---",
        f"pretty_name: {_q(options.repo.split('/')[-1])}",
        f"license: {license_id}",
        "language:\n- en",
        "task_categories:\n- text-generation\n- question-answering",
        "tags:\n- math\n- sft\n- dq",
        f"size_categories:\n- {_q(size_category(rows))}",
        "configs:",
    ]
    published = [s for s in run.splits if s.parquet]
    for config in dict.fromkeys(s.config for s in published):
        lines.append(f"- config_name: {config}")
        if config == "raw":
            lines.append("  default: true")
        lines.append("  data_files:")
        for split in (s for s in published if s.config == config):
            lines += [
                f"  - split: {split.split}",
                f"    path: {_q(f'data/{config}/{split.split}-*.parquet')}",
            ]
    lines.append(f"dq_gate_status: {_q(str(run.manifest.get('status', 'unknown')))}")
    if options.allow_failed_gate:
        lines.append("dq_allow_failed_gate: true")
    return "\n".join(lines) + "\n---\n"


def _intro(run: RunFolder, options: PublishOptions) -> list[str]:
    rule_set = run.manifest.get("rule_set") or {}
    inp = run.manifest.get("input") or {}
    lines = [
        f"# {options.repo.split('/')[-1]}",
        "",
        f"Math SFT rows curated by dq from `{inp.get('path', '?')}` with the rule "
        f"set `{rule_set.get('name', '?')}` (sha256 `{rule_set.get('sha256', '?')}`): quality rules, a "
        "grouped train/validation split, contamination gates and chat rendering. Every figure below "
        "comes from the run's own `manifest.json` and reports, which are published alongside.",
    ]
    failed = failed_gates(run.manifest)
    if failed:
        lines += [
            "",
            f"> **Warning: a contamination gate failed ({', '.join(failed)}).** This dataset was "
            "published anyway with `dq publish --allow-failed-gate`; see "
            "[Contamination](#contamination) before training or evaluating on it.",
        ]
    return lines


def _load(run: RunFolder, options: PublishOptions) -> list[str]:
    lines = ["## Load", "", "```python", "from datasets import load_dataset", ""]
    fields = {"raw": "row_id, source, problem, generated_solution, expected_answer"}
    fields["rendered"] = "row_id, source, expected_answer, messages (system, user, assistant)"
    for config in dict.fromkeys(s.config for s in run.splits):
        lines.append(f'{config} = load_dataset("{options.repo}", "{config}")  # {fields[config]}')
    lines += ["```", "", "Splits: `train`, and `validation` (dq's `val.jsonl`)."]
    empty = [f"{s.config}/{s.split}" for s in run.splits if not s.parquet]
    if empty:
        lines[-1] += f" Empty, so not loadable as splits (their JSONL files are empty): {', '.join(empty)}."
    return lines


def _files(run: RunFolder) -> list[str]:
    outputs = run.manifest.get("outputs") or {}
    rows = [
        [
            s.config,
            s.split,
            str(s.rows),
            ", ".join(f"`{p}`" for p in s.parquet) or "none (empty)",
            f"`{s.jsonl}`",
            f"`{outputs.get(s.jsonl, 'not recorded')}`",
        ]
        for s in run.splits
    ]
    intro = (
        "The JSONL files are byte-identical to the run's (their sha256 is the one `manifest.json` "
        "records); the Parquet files hold the same rows in the same order."
    )
    return [
        "## Files",
        "",
        intro,
        "",
        *table(["config", "split", "rows", "Parquet", "JSONL", "JSONL sha256"], rows),
    ]


def _provenance(run: RunFolder) -> list[str]:
    m = run.manifest
    rows = [
        [f"input {k}", f"`{json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v}`"]
        for k, v in (m.get("input") or {}).items()
    ]
    if not (m.get("input") or {}).get("sha256"):
        rows.append(["input fingerprint", "not recorded for this input (the demo corpus is built by dq)"])
    rule_set = m.get("rule_set") or {}
    rows += [
        ["rule set", f"`{rule_set.get('path', '?')}` ({rule_set.get('name', '?')})"],
        ["rule set sha256", f"`{rule_set.get('sha256', '?')}`"],
        ["dq version (run)", str((m.get("versions") or {}).get("dq", "?"))],
        ["dq version (publish)", _dq_version()],
        ["pipeline", " → ".join(f"`{s}`" for s in m.get("pipeline") or [])],
        ["seed", str(m.get("seed", "?"))],
        ["run created_at", str(m.get("created_at", "?"))],
    ]
    if m.get("parent"):
        rows.append(["parent run", f"`{json.dumps(m['parent'], ensure_ascii=False)}`"])
    return ["## Provenance", "", *table(["what", "value"], rows)]


def _licenses(run: RunFolder, options: PublishOptions, license_id: str) -> list[str]:
    parts = license_parts(run)
    rows = [
        [label, lic.license if lic else "unknown", lic.where if lic else "not known to dq: check it"]
        for label, lic in parts
    ]
    lines = ["## Licenses", "", f"Dataset license: `{license_id}`"]
    if options.license:
        lines[-1] += " (set by the publisher with `--license`)."
    elif license_id == "other":
        lines[-1] += ": dq does not know the license of every part below; check them and set `--license`."
    else:
        lines[-1] += ": the most demanding license of the parts below."
    lines += ["", *table(["part", "license", "where it comes from"], rows)]
    return lines


def render_card(run: RunFolder, options: PublishOptions) -> str:
    """The whole README.md: front matter, then one section per part of the run's story."""
    license_id = options.license or licenses.dataset_license(license_parts(run))
    blocks = [
        _intro(run, options),
        _load(run, options),
        _files(run),
        _provenance(run),
        curation(run.manifest),
        split_section(run.manifest),
        contamination(run.manifest, run.contamination),
        rendering(run.rendered),
        tokens(run.tokens),
        _licenses(run, options, license_id),
    ]
    body = "\n\n".join("\n".join(b) for b in blocks if b)
    return front_matter(run, options, license_id) + "\n" + body + "\n"
