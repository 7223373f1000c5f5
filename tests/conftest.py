"""Shared fixtures: paths to ../shared (skipped with a reason in a fresh clone) and run helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from dq.plugins import Registry, build_registry, make_plugin_manager

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DQ_SHARED_DIR", ROOT.parent / "shared"))
STRICT = ROOT / "rules" / "strict.toml"

settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fast", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("DQ_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real GSM8K, MATH, MATH-500, OpenMath sample); skip when absent."""
    path = SHARED / "data"
    if not (path / "gsm8k" / "test.jsonl").is_file():
        pytest.skip(f"../shared/data not found at {path} (fresh clone): real-data tests skipped")
    return path


@pytest.fixture(scope="session")
def shared_seed() -> Path:
    """../shared/seed (golden files of the original study); skip when absent."""
    path = SHARED / "seed"
    if not (path / "raw_dataset_manifest.json").is_file():
        pytest.skip(f"../shared/seed not found at {path} (fresh clone): golden-file tests skipped")
    return path


@pytest.fixture(scope="session", autouse=True)
def checkpoints_in_a_temp_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``dq run``'s stage checkpoints (resume) go to a temp folder, never ~/.cache/dq/runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DQ_CHECKPOINT_DIR", str(tmp_path_factory.mktemp("checkpoints")))
        yield


@pytest.fixture(scope="session")
def registry() -> Registry:
    pm, infos, _ = make_plugin_manager()
    return build_registry(pm, infos)


@pytest.fixture
def local_gsm8k_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DQ_BENCHMARK_DIR holding a one-item gsm8k/test.jsonl (offline runs of rule sets naming gsm8k)."""
    import json

    root = tmp_path_factory.mktemp("benchmarks")
    (root / "gsm8k").mkdir()
    (root / "gsm8k" / "test.jsonl").write_text(json.dumps({"question": "unrelated"}) + "\n")
    monkeypatch.setenv("DQ_BENCHMARK_DIR", str(root))
    return root
