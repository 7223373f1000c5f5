"""The ``dq publish`` command, contributed through the public ``dq_register_commands`` hook."""

from __future__ import annotations

from pathlib import Path

import click

from dq.api.hookspecs import hookimpl
from dq.cli.options import overwrite_option


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    cli.add_command(publish)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--repo", required=True, help="Hub dataset id: NAME or OWNER/NAME.")
@click.option(
    "--to",
    "to_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to build the dataset in (default: RUN_DIR-hf beside RUN_DIR).",
)
@click.option(
    "--dry-run", is_flag=True, help="Build the folder and list what would be uploaded; upload nothing."
)
@click.option("--private", is_flag=True, help="Create the Hub repository as private.")
@click.option(
    "--allow-failed-gate",
    is_flag=True,
    help="Publish even though the run's contamination gate failed (said in the card).",
)
@click.option("--license", "license_id", help="The card's license (default: derived from the sources).")
@overwrite_option
def publish(
    run_dir: Path,
    repo: str,
    to_dir: Path | None,
    dry_run: bool,
    private: bool,
    allow_failed_gate: bool,
    license_id: str | None,
    overwrite: bool,
) -> None:
    """Publish a finished run as a Hugging Face dataset: Parquet + JSONL + a generated card.

    Builds the folder (raw and rendered configs as Parquet, the run's JSONL, manifests and
    reports byte for byte, README.md with provenance, rejects, split, contamination, tokens and
    licenses), lists every file with its size and sha256, then uploads it with huggingface_hub
    unless --dry-run. A run whose gate failed is refused (exit 2) without --allow-failed-gate;
    so is a push with no token, offline (HF_HUB_OFFLINE=1, after the folder is built) or
    failing on the network. The token (HF_TOKEN or `hf auth login`) is never printed.
    """
    from dq.publish.folder import build_folder, default_target
    from dq.publish.model import PublishOptions
    from dq.publish.push import check_ready, push

    options = PublishOptions(repo, allow_failed_gate, license_id)
    target = to_dir or default_target(run_dir)
    if not dry_run:
        check_ready(repo)
    entries = build_folder(run_dir, target, options, overwrite)
    for entry in entries:
        click.echo(f"{entry.path}\t{entry.bytes}\t{entry.sha256}")
    total = sum(e.bytes for e in entries)
    click.echo(f"{len(entries)} files, {total} bytes in {target}")
    if dry_run:
        click.echo(f"dry run: nothing uploaded (would upload to datasets/{repo})")
        return
    url = push(target, repo, private, f"dq publish {run_dir.name}")
    click.echo(f"pushed to {url}")
