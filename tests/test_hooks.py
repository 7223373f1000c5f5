"""Every hookspec is documented, has a test, and works through a real plugin manager."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pluggy
import pytest

from dq.api import hookimpl, hookspecs
from dq.errors import DqError
from dq.pipeline.execute import run_pipeline
from dq.pipeline.plan import RunOptions
from dq.plugins import build_registry, make_plugin_manager
from tests.conftest import ROOT, STRICT
from tests.plugins import recorder

HOOKS = sorted(n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("dq_"))


def _manager(*extra: object) -> tuple[pluggy.PluginManager, object]:
    pm, infos, _ = make_plugin_manager(load_entrypoints=False, extra=extra)
    return pm, build_registry(pm, infos)


def _rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "r.toml"
    path.write_text('name = "hooktest"\n' + body, encoding="utf-8")
    return path


def test_plugin_hooks_are_documented() -> None:
    doc = (ROOT / "docs" / "plugin_hooks.md").read_text(encoding="utf-8")
    for name in HOOKS:
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"## {name}({params})" in doc, f"{name} is not documented with its signature"


def test_plugin_hooks_have_tests() -> None:
    tested = set(re.findall(r"def test_hook_(dq_\w+)\(", Path(__file__).read_text()))
    assert set(HOOKS) <= tested, f"hooks without a test_hook_<name>: {set(HOOKS) - tested}"


def test_hook_dq_register_rules(tmp_path: Path) -> None:
    pm, registry = _manager(recorder)
    assert registry.owner[("rules", "recorder.short_solution")] == "tests.plugins.recorder"
    assert registry.owner[("rules", "dq.missing_box")] == "dq"
    rules = _rules(tmp_path, '[[rules]]\nrule = "recorder.short_solution"\nmin_chars = 1000\n')
    result, state = run_pipeline(
        pm, registry, rules, out_dir=tmp_path / "o", options=RunOptions(contamination_action="warn")
    )
    assert state.reject_reasons and all(k.endswith(":short_solution") for k in state.reject_reasons)


def test_hook_dq_register_stages(tmp_path: Path) -> None:
    pm, registry = _manager(recorder)
    rules = _rules(tmp_path, 'pipeline = ["dq.load", "dq.curate", "recorder.count"]\ncontamination = []\n')
    _, state = run_pipeline(pm, registry, rules, out_dir=tmp_path / "o")
    assert state.notes == [f"accepted={state.accepted.height}"]


def test_hook_dq_register_splitters(tmp_path: Path) -> None:
    pm, registry = _manager(recorder)
    rules = _rules(tmp_path, '[split]\nsplitter = "recorder.math_to_val"\n')
    _, state = run_pipeline(
        pm, registry, rules, out_dir=tmp_path / "o", options=RunOptions(contamination_action="warn")
    )
    assert set(state.val["source"]) == {"math"} and "math" not in set(state.train["source"])


def test_hook_dq_register_contamination_checks(tmp_path: Path) -> None:
    pm, registry = _manager(recorder)
    rules = _rules(tmp_path, '[[contamination]]\ncheck = "recorder.contains"\naction = "fail"\n')
    result, state = run_pipeline(pm, registry, rules, out_dir=tmp_path / "o")
    assert result.exit_code == 1 and state.matches["check"].unique().to_list() == ["recorder.contains"]


def test_hook_dq_register_reporters(tmp_path: Path) -> None:
    pm, registry = _manager(recorder)
    rules = _rules(tmp_path, 'reports = ["recorder.rows", "dq.summary_md"]\n')
    _, state = run_pipeline(
        pm, registry, rules, out_dir=tmp_path / "o", options=RunOptions(contamination_action="warn")
    )
    assert (tmp_path / "o/reports/rows.txt").read_text() == f"{state.train.height} {state.val.height}\n"
    assert "reports/rows.txt" in json.loads((tmp_path / "o/manifest.json").read_text())["outputs"]


def test_hook_dq_register_commands() -> None:
    pm, _ = _manager(recorder)
    group = click.Group()
    pm.hook.dq_register_commands(cli=group)
    assert {"recorder-hello", "review"} <= set(group.commands)  # review is dq's own, same hook


def test_hook_dq_before_run(tmp_path: Path) -> None:
    pm, registry = _manager(recorder)
    recorder.CALLS.clear()
    run_pipeline(pm, registry, _rules(tmp_path, ""), out_dir=tmp_path / "o")
    assert recorder.CALLS[0] == ("before", "hooktest")


def test_hook_dq_after_run(tmp_path: Path) -> None:
    pm, registry = _manager(recorder)
    recorder.CALLS.clear()
    result, _ = run_pipeline(pm, registry, _rules(tmp_path, ""), out_dir=tmp_path / "o")
    assert recorder.CALLS[-1] == ("after", result.status) and (tmp_path / "o/manifest.json").is_file()


def test_misspelled_hook_fails_check_pending() -> None:
    class Typo:
        @hookimpl
        def dq_register_rule(self, register: object) -> None:  # missing "s"
            pass

    with pytest.raises(pluggy.PluginValidationError, match="dq_register_rule"):
        make_plugin_manager(load_entrypoints=False, extra=[Typo()])


def test_duplicate_rule_names_name_both_plugins() -> None:
    class Again:
        @hookimpl
        def dq_register_rules(self, register: object) -> None:
            register(recorder.ShortSolution)  # type: ignore[operator]

    with pytest.raises(
        DqError, match="'recorder.short_solution': registered by 'tests.plugins.recorder' and 'Again'"
    ):
        _manager(recorder, Again())


def test_third_party_rule_names_must_be_namespaced() -> None:
    class Bare(recorder.ShortSolution):
        name = "short"
        code = "REC009"

    class Plugin:
        @hookimpl
        def dq_register_rules(self, register: object) -> None:
            register(Bare)  # type: ignore[operator]

    with pytest.raises(DqError, match="must be namespaced"):
        _manager(Plugin())


def _registering(kind: str, component: type) -> object:
    class Plugin:
        pass

    def register_it(register: Any) -> None:
        register(component)

    setattr(Plugin, f"dq_register_{kind}", staticmethod(hookimpl(register_it)))
    return Plugin()


@pytest.mark.parametrize("kind", ["stages", "reporters", "splitters", "contamination_checks"])
def test_every_component_name_is_namespaced_and_dq_is_reserved(kind: str) -> None:
    base = {
        "stages": recorder.CountStage,
        "reporters": recorder.RowCountReporter,
        "splitters": recorder.MathToVal,
        "contamination_checks": recorder.ContainsCheck,
    }[kind]
    for name, error in (("bare", "must be namespaced"), ("dq.mine", "'dq.' namespace is for dq itself")):
        with pytest.raises(DqError, match=error):
            _manager(_registering(kind, type("Component", (base,), {"name": name})))


def test_builtin_components_are_all_in_the_dq_namespace(registry: Any) -> None:
    names = [(kind, name) for kind, items in registry.items.items() for name in items]
    assert len(names) > 15
    assert [n for n in names if registry.owner[n] == "dq" and not n[1].startswith("dq.")] == []


@pytest.fixture
def broken_plugin_path(tmp_path: Path) -> Path:
    """A real installed-looking distribution whose dq entry point raises on import."""
    (tmp_path / "dq_broken.py").write_text("raise ImportError('needs dq 9')\n")
    dist = tmp_path / "dq_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: dq-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[dq]\nbroken = dq_broken\n")
    return tmp_path


def _dq_cli(args: list[str], path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, "PYTHONPATH": str(path), **env}
    return subprocess.run(
        [sys.executable, "-m", "dq", *args], capture_output=True, text=True, env=full_env, check=False
    )


def test_broken_plugin_is_one_clear_line(broken_plugin_path: Path) -> None:
    proc = _dq_cli(["rules", "list"], broken_plugin_path)
    assert proc.returncode == 0
    assert "could not load dq plugin 'broken' (dq-broken 0.1): ImportError(needs dq 9)" in proc.stderr
    strict = _dq_cli(
        ["run", "--rules", str(STRICT), "--strict-plugins", "--out", str(broken_plugin_path / "o")],
        broken_plugin_path,
    )
    assert strict.returncode == 2 and "Traceback" not in strict.stderr


def test_dq_load_plugins_allowlist_skips_others(broken_plugin_path: Path) -> None:
    proc = _dq_cli(["rules", "list"], broken_plugin_path, DQ_LOAD_PLUGINS="")
    assert proc.returncode == 0 and "could not load" not in proc.stderr


def test_plugins_list_without_third_party_plugins_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from dq.cli.runtime import runtime
    from tests.helpers import dq

    monkeypatch.setenv("DQ_LOAD_PLUGINS", "")
    runtime.cache_clear()  # plugins load once per process; this test needs a process without them
    try:
        result = dq("plugins", "list")
    finally:
        runtime.cache_clear()
    assert result.exit_code == 0 and "No third-party dq plugins are installed" in result.output


def test_hook_dq_register_renderers(tmp_path: Path) -> None:
    pm, registry = _manager(recorder)
    assert registry.owner[("renderers", "recorder.bytes")] == "tests.plugins.recorder"
    assert registry.owner[("renderers", "dq.qwen3_thinking_off")] == "dq"
    rules = _rules(
        tmp_path,
        'pipeline = ["dq.load", "dq.curate", "dq.split", "dq.render", "dq.tokens", "dq.write"]\n'
        'contamination = []\n[render]\nrenderer = "recorder.bytes"\n',
    )
    _, state = run_pipeline(pm, registry, rules, out_dir=tmp_path / "o")
    tokens = json.loads((tmp_path / "o/rendered/tokens.json").read_text())
    first = state.train.row(0, named=True)
    system = f"system: {state.rule_set.render.system_prompt}\n"
    full = f"{system}user: {first['problem']}\nassistant: {first['generated_solution']}\n"
    assert tokens["renderer"] == "recorder.bytes" and tokens["train"]["rows"] == state.train.height
    assert tokens["train"]["delta_range"]["full_min"] == len(system.encode())
    assert tokens["train"]["max"] >= len(full.encode()) >= tokens["train"]["min"]


def test_hook_dq_register_evaluators(tmp_path: Path) -> None:
    from dq.eval.runner import RunSpec, evaluate

    _, registry = _manager(recorder)
    evaluator = registry.get("evaluators", "recorder.last_line")()
    renderer = registry.get("renderers", "recorder.bytes")()
    out, summary = evaluate(
        evaluator, renderer, recorder.EchoSampler(), RunSpec("echo", batch_size=2), tmp_path
    )
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["correct"] for r in rows] == [True, True, False]  # the third has no "= answer"
    assert summary["primary_metric"]["value"] == 2 / 3 and summary["evaluator"] == "recorder.last_line"


def test_hook_dq_register_train_backends(tmp_path: Path) -> None:
    from dq.train.dataset import load_train_data
    from dq.train.driver import RunConfig
    from dq.train.run import train_run

    pm, registry = _manager(recorder)
    run_pipeline(
        pm, registry, STRICT, out_dir=tmp_path / "o", options=RunOptions(contamination_action="warn")
    )
    renderer = registry.get("renderers", "recorder.bytes")()
    data = load_train_data(tmp_path / "o", renderer, train_limit=20, val_limit=4)
    backend = registry.get("train_backends", "recorder.uniform")()
    config = RunConfig("hooktest", "toy", "attention_only", 0, epochs=1)
    recorder.CALLS.clear()
    summary = train_run(backend, config, data, tmp_path / "run")
    metrics = [json.loads(line) for line in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert [c for c in recorder.CALLS if c[0] == "lr"] and backend.steps == 3  # ceil(20 / 8) steps
    assert {m["split"] for m in metrics} == {"main_train", "main_optim", "main_val"}
    assert (
        summary["best_validation_step"] == 3 and summary["checkpoint"]["path"] == "memory://hooktest-step-3"
    )
