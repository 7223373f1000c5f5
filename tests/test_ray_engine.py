"""The Ray engine on one session-scoped local Ray session, loopback only: results equal the local engine's.

Skipped with a reason when Ray (the ``dq[ray]`` extra) is not importable. The session listens on
127.0.0.1 only, keeps its files under the test's own temp dir and writes nothing under ~.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dq.contamination import leakage
from dq.contamination.near import MinHashCheck
from dq.engine import loopback, using
from dq.engine.ray_engine import RayEngine, RayOptions, available
from dq.pipeline.execute import run_pipeline
from dq.plugins import make_plugin_manager
from tests.helpers import dq
from tests.test_partition_equivalence import NEAR, Corpus, same_folders

pytestmark = [
    pytest.mark.ray,
    pytest.mark.skipif(not available(), reason="Ray is not installed (pip install 'dq[ray]')"),
]

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


@pytest.fixture(scope="session")
def ray_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One loopback-only local Ray session for the whole test session (2 CPUs, its own temp dir)."""
    started = time.time()
    # ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False,
    # _temp_dir=<this dir>, num_cpus=2) with LOOPBACK_ENV set before Ray is first imported.
    with loopback.ray_session(None, tmp_path_factory.mktemp("ray"), num_cpus=2):
        yield {"started": started}


@pytest.fixture(scope="module")
def engine(ray_session: dict[str, Any]) -> RayEngine:
    # Small batches and tasks: the demo's 2,185 rows become several partitions of every step.
    return RayEngine(RayOptions(rows_per_batch=400, texts_per_task=300, partitions=5))


@pytest.fixture(scope="module")
def demo(registry: Any) -> Corpus:
    from dq.data.reader import read_input
    from dq.pipeline.plan import build_plan

    plan = build_plan(NEAR, registry)
    return Corpus(plan, read_input(None, plan.columns)[0])


def test_steps_equal_local_engine(engine: RayEngine, demo: Corpus) -> None:
    got = engine.curate(demo.rows, demo.plan.rules, demo.plan.skip_rules)
    for field in ("considered", "accepted", "rejected", "verdicts"):
        assert getattr(got, field).equals(getattr(demo.result, field)), field
    want = leakage.near_components(demo.canonical, 0.7)
    assert engine.near_components(demo.canonical, 0.7).equals(want)
    bound = next(b for b in demo.plan.checks if b.name == "dq.minhash")
    check = MinHashCheck(bound.check.options.model_copy(update={"batch_size": 500}))
    bench = {name: demo.bench[name] for name in bound.benchmarks}
    matches = check.find(demo.curated, bench)
    assert matches.height > 0 and engine.find(check, demo.curated, bench).equals(matches)


def test_run_folder_byte_identical(
    engine: RayEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Any
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pm = make_plugin_manager()[0]
    local, _ = run_pipeline(pm, registry, NEAR, out_dir=tmp_path / "local")
    counting = Counting(engine)
    with using(counting):  # what `dq run --engine ray` does around the pipeline
        on_ray, _ = run_pipeline(pm, registry, NEAR, out_dir=tmp_path / "ray")
    assert counting.calls == {"curate", "near_components", "find"}
    assert local.exit_code == on_ray.exit_code == 1
    assert same_folders(tmp_path / "local", tmp_path / "ray") == []


def test_streamed_run_on_ray_writes_the_local_in_memory_bytes(
    engine: RayEngine, demo: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Any
) -> None:
    """Over the memory budget the run streams; on Ray its curate runs part by part there."""
    import dq.pipeline.streaming
    from dq.data.demo import demo_benchmark
    from dq.pipeline.plan import RunOptions

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(dq.pipeline.streaming, "PART_ROWS", 700)  # several load parts
    source, items = tmp_path / "rows.parquet", tmp_path / "items.jsonl"
    demo.rows.select("problem", "generated_solution", "expected_answer", "source").write_parquet(
        source, row_group_size=500
    )
    demo_benchmark().write_ndjson(items)
    given = [f"{name}={items}#question" for name in ("gsm8k", "math", "math500")]
    pm = make_plugin_manager()[0]
    local, _ = run_pipeline(pm, registry, NEAR, RunOptions(str(source), given), out_dir=tmp_path / "local")
    counting = Counting(engine)
    with using(counting):
        streamed, state = run_pipeline(
            pm, registry, NEAR, RunOptions(str(source), given, memory=1024), out_dir=tmp_path / "ray"
        )
    assert state.row_store is not None, "the run streamed"
    assert counting.calls == {"curate", "near_components", "find"}
    assert local.exit_code == streamed.exit_code == 1
    assert same_folders(tmp_path / "local", tmp_path / "ray") == []


def test_quiet_run_leaves_stderr_to_dq(engine: RayEngine, tmp_path: Path) -> None:
    """``dq run --engine ray --quiet``: none of Ray's lines (Ray Data's INFO lines, its notice that
    progress bars are off, its bars) reach stderr; a quiet dq prints nothing there itself."""
    out = tmp_path / "o"
    result = dq("run", "--rules", NEAR, "--out", out, "--engine", "ray", "--quiet")
    assert result.exit_code == 1, result.output
    assert result.stderr == "" and (out / "manifest.json").is_file()


class Counting:
    """The Ray engine, noting each step the pipeline ran on it (so a test sees the wiring was used)."""

    def __init__(self, engine: RayEngine) -> None:
        self.engine, self.calls = engine, set[str]()

    def __getattr__(self, step: str) -> Any:
        self.calls.add(step)
        return getattr(self.engine, step)


def test_session_is_loopback_only(engine: RayEngine, ray_session: dict[str, Any], demo: Corpus) -> None:
    import psutil

    engine.near_components(demo.canonical, 0.7)  # workers up and busy before looking
    me = psutil.Process(os.getpid())
    listening = []
    for proc in [me, *me.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        listening += [(proc.name(), c.laddr.ip) for c in conns if c.status == psutil.CONN_LISTEN]
    assert listening, "the Ray session should listen somewhere (on loopback)"
    assert [entry for entry in listening if entry[1] not in LOOPBACK] == []
    written = [
        os.path.join(root, name)
        for root, _, files in os.walk(Path.home())
        for name in files
        if "ray" in os.path.join(root, name).lower().replace("pyenv", "")
        and os.path.getmtime(os.path.join(root, name)) >= ray_session["started"]
    ]
    assert written == []
