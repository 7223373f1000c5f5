"""``dq publish``: a Hugging Face dataset folder from a real demo run, its card, and the push boundary."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from dq.publish.commands import dq_register_commands, publish
from tests.helpers import dq

ROOT = Path(__file__).resolve().parent.parent
STRICT = ROOT / "rules" / "strict.toml"
SECRET = "hf_publishTestSecret0123456789"


def run_publish(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(publish, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run: the gate catches the planted benchmark copies (exit 1, outputs written)."""
    out = tmp_path_factory.mktemp("failed") / "out"
    assert dq("run", "--rules", STRICT, "--out", out, "--quiet").exit_code == 1
    return out


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run with the contaminated rows dropped: the gate passes (exit 0)."""
    out = tmp_path_factory.mktemp("clean") / "out"
    result = dq("run", "--rules", STRICT, "--out", out, "--quiet", "--contamination-action", "drop")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def published(clean_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A dry run with the Hub made unusable: any call to it, or a need for a token, fails the run."""
    import huggingface_hub

    class NoHub:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"dry run called HfApi.{name}")

    target = tmp_path_factory.mktemp("pub") / "hf"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub, "HfApi", NoHub)
        patch.setattr(huggingface_hub, "get_token", lambda: None)
        result = run_publish(clean_run, "--repo", "someone/openmath-clean", "--dry-run", "--to", target)
    assert result.exit_code == 0, result.output
    return target, result


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def front_matter(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_load_dataset_round_trips_every_row(
    published: tuple[Path, Result], clean_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datasets import load_dataset

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    target, _ = published
    for config in ("raw", "rendered"):
        loaded = load_dataset(str(target), config, cache_dir=str(tmp_path / "cache"))
        assert sorted(loaded) == ["train", "validation"]
        for split, stem in (("train", "train"), ("validation", "val")):
            expected = jsonl(clean_run / config / f"{stem}.jsonl")
            assert len(expected) > 100
            assert loaded[split].to_list() == expected, (config, split)


def test_card_names_rule_set_sha256_rejects_split_and_gates(
    published: tuple[Path, Result], clean_run: Path
) -> None:
    manifest = json.loads((clean_run / "manifest.json").read_text())
    card = (published[0] / "README.md").read_text(encoding="utf-8")
    meta = front_matter(card)
    assert [c["config_name"] for c in meta["configs"]] == ["raw", "rendered"]
    assert meta["configs"][0]["data_files"][1]["path"] == "data/raw/validation-*.parquet"
    assert meta["license"] == "apache-2.0"  # the demo corpus is dq's own synthetic data
    assert meta["size_categories"] == ["1K<n<10K"]
    assert manifest["rule_set"]["sha256"] in card
    # The reject table: one row per rule, one column per source, each cell the manifest's count.
    header = next(line for line in card.splitlines() if line.startswith("| rule |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert len(manifest["reject_reasons"]) >= 6
    for key, count in manifest["reject_reasons"].items():
        source, rule = key.split(":")
        row = next(line for line in card.splitlines() if line.startswith(f"| `{rule}` |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[columns.index(source)] == str(count), key
    total = next(line for line in card.splitlines() if line.startswith("| **total** |"))
    assert total.endswith(f"| {manifest['rows']['rejected']} |")
    assert manifest["split_rule"] in card
    for gate in manifest["gates"]:
        assert f"| `{gate['name']}` | {gate['action']} | {gate['status']} | {gate['matches']} |" in card
    has_tokens = (clean_run / "rendered/tokens.json").is_file()
    assert ("Not computed for this run" in card) is not has_tokens
    from huggingface_hub import DatasetCard  # the Hub's own parser reads the same metadata

    hub = DatasetCard(card).data.to_dict()
    assert hub["task_categories"] == ["text-generation", "question-answering"]
    assert hub["dq_gate_status"] == "pass" and "dq_allow_failed_gate" not in hub


def test_dry_run_lists_every_file_and_uploads_nothing(
    published: tuple[Path, Result], clean_run: Path
) -> None:
    target, result = published
    listed = {}
    for line in result.output.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            listed[parts[0]] = (int(parts[1]), parts[2])
    files = {k: v for k, v in tree(target).items() if k != ".dq-output"}
    assert listed == {k: (len(v), hashlib.sha256(v).hexdigest()) for k, v in files.items()}
    assert "dry run: nothing uploaded" in result.output
    for rel in ("raw/train.jsonl", "raw/val.jsonl", "rendered/val.jsonl", "manifest.json"):
        assert files[rel] == (clean_run / rel).read_bytes()  # the study's JSONL, byte for byte


def test_same_run_gives_byte_identical_folder(
    published: tuple[Path, Result], clean_run: Path, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    again = tmp_path / "again"
    assert (
        run_publish(clean_run, "--repo", "someone/openmath-clean", "--dry-run", "--to", again).exit_code == 0
    )
    first, second = tree(published[0]), tree(again)
    assert first.keys() == second.keys() and first == second
    meta = pq.ParquetFile(again / "data/rendered/train-00000-of-00001.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_failed_gate_is_refused_without_the_flag(failed_run: Path, tmp_path: Path) -> None:
    target = tmp_path / "hf"
    result = run_publish(failed_run, "--repo", "x/y", "--dry-run", "--to", target)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "dq.exact" in result.output and "--allow-failed-gate" in result.output
    assert not target.exists()
    allowed = run_publish(failed_run, "--repo", "x/y", "--dry-run", "--to", target, "--allow-failed-gate")
    assert allowed.exit_code == 0, allowed.output
    card = (target / "README.md").read_text(encoding="utf-8")
    assert front_matter(card)["dq_allow_failed_gate"] is True
    assert "Warning: a contamination gate failed (dq.exact (4 matches))" in card


def test_offline_push_is_one_line_and_never_shows_the_token(clean_run: Path, tmp_path: Path) -> None:
    target = tmp_path / "hf"
    result = run_publish(
        clean_run, "--repo", "x/y", "--to", target, env={"HF_HUB_OFFLINE": "1", "HF_TOKEN": SECRET}
    )
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: not pushed to x/y: HF_HUB_OFFLINE is set") and str(target) in last
    assert SECRET not in result.output
    assert (target / "README.md").is_file()  # the folder is built; only the upload is refused


def test_push_stops_at_the_network_boundary(clean_run: Path, tmp_path: Path) -> None:
    """A real push to a Hub endpoint nobody listens on: one line, exit 2, no token anywhere."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_TOKEN=SECRET, HF_ENDPOINT=f"http://127.0.0.1:{port}", HF_HOME=str(tmp_path / "home"))
    code = "from dq.publish.commands import publish; publish.main(prog_name='dq publish')"
    args = [str(clean_run), "--repo", "x/y", "--to", str(tmp_path / "hf")]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith("Error: not pushed to x/y: ConnectError")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert SECRET not in proc.stdout + proc.stderr
    assert SECRET not in "".join(
        p.read_text(errors="ignore") for p in (tmp_path / "hf").rglob("*") if p.is_file()
    )


def test_push_creates_a_dataset_repo_and_uploads_the_folder(
    clean_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub
    from huggingface_hub import constants

    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    class FakeApi:
        def create_repo(self, *args: Any, **kwargs: Any) -> None:
            calls.append(("create_repo", args, kwargs))

        def upload_folder(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(("upload_folder", args, kwargs))
            return type("Commit", (), {"commit_url": "https://hub.example/commit/1"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    target = tmp_path / "hf"
    result = run_publish(clean_run, "--repo", "me/ds", "--to", target, "--private")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("pushed to https://hub.example/commit/1")
    (_, args, create), (_, _, upload) = calls
    assert args == ("me/ds",) and create == {"repo_type": "dataset", "private": True, "exist_ok": True}
    assert upload["folder_path"] == target and upload["repo_type"] == "dataset"
    assert upload["ignore_patterns"] == [".dq-output"]
    assert "token" not in create and "token" not in upload  # dq never handles the token itself
    assert SECRET not in result.output


def test_refusals_are_one_line_and_write_nothing(
    clean_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    no_token = run_publish(clean_run, "--repo", "x/y", "--to", tmp_path / "hf")
    assert no_token.exit_code == 2 and "no Hugging Face token" in no_token.output
    assert not (tmp_path / "hf").exists()
    edited = tmp_path / "edited"
    shutil.copytree(clean_run, edited)
    with (edited / "raw/val.jsonl").open("a") as fh:
        fh.write("{}\n")
    result = run_publish(edited, "--repo", "x/y", "--dry-run", "--to", tmp_path / "a")
    assert result.exit_code == 2 and "changed since dq wrote it" in result.output
    inside = run_publish(clean_run, "--repo", "x/y", "--dry-run", "--to", clean_run / "hf")
    assert inside.exit_code == 2 and "inside the output folder" in inside.output
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    refused = run_publish(clean_run, "--repo", "x/y", "--dry-run", "--to", mine, "--overwrite")
    assert refused.exit_code == 2 and (mine / "notes.txt").read_text() == "keep me"
    bad = run_publish(clean_run, "--repo", "a/b/c", "--dry-run", "--to", tmp_path / "b")
    assert bad.exit_code == 2 and "--repo 'a/b/c'" in bad.output


def test_token_statistics_and_cost_go_in_the_card(clean_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(clean_run, run)
    path = run / "rendered/tokens.json"
    if not path.is_file():  # a run without the token stage: a report shaped like the study's stands in
        train = {
            "rows": 1350,
            "full_mean_with_system": 340.82,
            "delta_range": {"full_min": 27},
            "histogram": {},
        }
        cost = {"train_tokens": 918000, "price_per_million_tokens": 0.4, "total_dollars": 0.37}
        val = {"rows": 151, "full_mean_with_system": 333.36}
        path.write_text(json.dumps({"model_name": "Qwen/Qwen3-8B", "train": train, "val": val, "cost": cost}))
    report = json.loads(path.read_text())
    assert run_publish(run, "--repo", "x/y", "--dry-run", "--to", tmp_path / "hf").exit_code == 0
    card = (tmp_path / "hf/README.md").read_text(encoding="utf-8")
    train, val = report["train"], report["val"]
    for key in ("rows", "full_mean_with_system"):
        assert f"| {key} | {train[key]} | {val.get(key, '')} |" in card
    assert f"| delta_range.full_min | {train['delta_range']['full_min']} |" in card
    assert "| histogram" not in card  # lists stay in rendered/tokens.json, which is published
    for key, value in report["cost"].items():
        if not isinstance(value, dict | list):
            assert f"| {key} | {value} |" in card
    assert (tmp_path / "hf/rendered/tokens.json").read_bytes() == path.read_bytes()


def test_real_openmath_sample_card_licenses_and_fingerprint(shared_data: Path, tmp_path: Path) -> None:
    sample = shared_data / "openmathinstruct2" / "nemo_skills_sample.jsonl"
    out = tmp_path / "out"
    env = {"DQ_BENCHMARK_DIR": str(shared_data)}
    assert dq("run", "--rules", STRICT, "--input", sample, "--out", out, "--quiet", env=env).exit_code == 0
    result = run_publish(out, "--repo", "x/om", "--dry-run", "--to", tmp_path / "hf")
    assert result.exit_code == 0, result.output
    card = (tmp_path / "hf/README.md").read_text(encoding="utf-8")
    assert front_matter(card)["license"] == "cc-by-4.0"
    assert hashlib.sha256(sample.read_bytes()).hexdigest() in card  # the input fingerprint
    assert "| source `gsm8k` | mit |" in card
    # The sample leaves no validation row: the empty split is named, not published as Parquet.
    assert [s["split"] for s in front_matter(card)["configs"][0]["data_files"]] == ["train"]


def test_hook_adds_the_publish_command() -> None:
    group = click.Group("dq")
    dq_register_commands(cli=group)
    assert group.commands["publish"] is publish
