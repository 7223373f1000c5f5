"""Build a Hugging Face dataset folder from a finished dq output folder.

The folder holds the raw and rendered splits as Parquet (``data/{raw,rendered}/{split}-*.parquet``,
named by the card's ``configs``), byte-for-byte copies of the JSONL, manifests and reports the
study published (at the same paths as in the output folder), and the generated card
(``README.md``). It is written whole into a temp sibling and renamed into place
(:func:`dq.data.outdir.staged`), so the same output folder always gives the same bytes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from dq.data.reader import file_sha256
from dq.errors import DqError
from dq.publish.model import Entry, PublishedSplit, PublishOptions, RunFolder, failed_gates

#: dq's split names (file stems) and the Hub's split names for them.
SPLITS = {"train": "train", "val": "validation"}
CONFIGS = ("raw", "rendered")
#: Files copied as they are when present; the split JSONL are added per config.
EXTRA_FILES = (
    "manifest.json",
    "rendered/manifest.json",
    "reports/contamination.json",
    "rendered/tokens.json",
)
REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")


def _read_json(path: Path, required: bool) -> dict[str, Any] | None:
    if not path.is_file():
        if required:
            raise DqError(f"{path}: not found; is {path.parent} a finished dq output folder?")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DqError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DqError(f"{path}: expected a JSON object")
    return data


def read_run(out: Path) -> RunFolder:
    """Read and check a dq output folder: manifest, reports and the split files it names."""
    manifest = _read_json(out / "manifest.json", required=True) or {}
    splits = []
    for config in CONFIGS:
        present = [stem for stem in SPLITS if (out / config / f"{stem}.jsonl").is_file()]
        if config == "raw" and len(present) < len(SPLITS):
            missing = [f"raw/{s}.jsonl" for s in SPLITS if s not in present]
            raise DqError(f"{out}: {', '.join(missing)} not found; is it a finished dq output folder?")
        if present and len(present) < len(SPLITS):
            raise DqError(f"{out}/{config}: holds {present[0]}.jsonl but not the other split")
        splits += [PublishedSplit(config, SPLITS[stem], f"{config}/{stem}.jsonl") for stem in present]
    if all((out / s.jsonl).stat().st_size == 0 for s in splits if s.config == "raw"):
        raise DqError(f"{out}: raw/train.jsonl and raw/val.jsonl are empty: no accepted row to publish")
    return RunFolder(
        out,
        manifest,
        _read_json(out / "rendered/manifest.json", required=False),
        _read_json(out / "reports/contamination.json", required=False),
        _read_json(out / "rendered/tokens.json", required=False),
        splits,
    )


def check_publishable(run: RunFolder, options: PublishOptions) -> None:
    """Refuse, in one line, a repo id the Hub would reject or a run whose gate failed."""
    if not REPO_ID.match(options.repo) or ".." in options.repo or "--" in options.repo:
        raise DqError(f"--repo '{options.repo}': use NAME or OWNER/NAME (letters, digits, '-', '_', '.')")
    failed = failed_gates(run.manifest)
    if failed and not options.allow_failed_gate:
        raise DqError(
            f"{run.path / 'manifest.json'}: a gate failed ({', '.join(failed)}); refusing to publish "
            "contaminated data: fix the run, or pass --allow-failed-gate (recorded in the card)"
        )


def _copy_checked(run: RunFolder, rel: str, work: Path) -> None:
    """Copy one file byte for byte, refusing one edited since dq recorded its sha256."""
    source = run.path / rel
    recorded = (run.manifest.get("outputs") or {}).get(rel)
    if recorded and file_sha256(source) != recorded:
        raise DqError(f"{source}: changed since dq wrote it (sha256 differs from manifest.json 'outputs')")
    target = work / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _write_parquet(run: RunFolder, work: Path) -> None:
    from dq.publish.parquet import read_jsonl, write_shards

    for split in run.splits:
        table = read_jsonl(run.path / split.jsonl, split.config, str(run.path / split.jsonl))
        split.rows = table.num_rows
        if not split.rows:  # `datasets` cannot load a split with no rows: the card names it instead
            continue
        paths = write_shards(table, work / "data" / split.config, split.split)
        split.parquet = [p.relative_to(work).as_posix() for p in paths]


def listing(folder: Path, skip: set[str]) -> list[Entry]:
    """Every file of ``folder`` (except ``skip``) with its size and sha256, sorted by path."""
    entries = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in skip:
            entries.append(Entry(rel, path.stat().st_size, file_sha256(path)))
    return entries


def default_target(out: Path) -> Path:
    """``OUT-hf`` beside the output folder: never inside it, whose files belong to the run."""
    resolved = out.resolve()
    return resolved.with_name(f"{resolved.name}-hf")


def build_folder(out: Path, to: Path, options: PublishOptions, overwrite: bool = False) -> list[Entry]:
    """Write the dataset folder for ``out`` at ``to``, atomically; returns what would be uploaded."""
    from dq.data.outdir import MARKER, staged
    from dq.publish.card import render_card

    run = read_run(out)
    check_publishable(run, options)
    resolved_out, resolved_to = out.resolve(), to.resolve()
    if resolved_to == resolved_out or resolved_out in resolved_to.parents:
        raise DqError(f"--to {to}: inside the output folder {out}; choose a folder outside it")
    with staged(to, overwrite, kind="publish", reads=[out]) as work:
        for rel in [s.jsonl for s in run.splits] + [r for r in EXTRA_FILES if (out / r).is_file()]:
            _copy_checked(run, rel, work)
        _write_parquet(run, work)
        (work / "README.md").write_text(render_card(run, options), encoding="utf-8")
        entries = listing(work, skip={MARKER})
    return entries
