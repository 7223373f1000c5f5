"""Docs generated from the code stay current, and the examples in docs/plugin_hooks.md run."""

from __future__ import annotations

import json
import re
import tomllib
import types
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from dq.cli.schema_docs import ruleset_json_schema, ruleset_markdown
from dq.pipeline.execute import run_pipeline
from dq.plugins import build_registry, make_plugin_manager
from tests.conftest import ROOT

HOOK_DOC = ROOT / "docs" / "plugin_hooks.md"


def _builtin_registry():  # type: ignore[no-untyped-def]
    pm, infos, _ = make_plugin_manager(load_entrypoints=False)
    return build_registry(pm, infos)


def test_ruleset_reference_is_current() -> None:
    current = (ROOT / "docs" / "ruleset.md").read_text(encoding="utf-8")
    assert current == ruleset_markdown(_builtin_registry()), (
        "docs/ruleset.md is stale; regenerate: DQ_LOAD_PLUGINS= dq rules schema --markdown > docs/ruleset.md"
    )


def test_every_schema_field_is_documented() -> None:
    schema = ruleset_json_schema()
    missing = [
        f"{model}.{name}"
        for model, definition in [("RuleSet", schema), *schema["$defs"].items()]
        for name, prop in definition["properties"].items()
        if not prop.get("description")
    ]
    assert missing == []


@pytest.mark.parametrize("path", sorted((ROOT / "rules").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_rule_sets_validate_against_the_json_schema(path: Path) -> None:
    jsonschema.validate(tomllib.loads(path.read_text(encoding="utf-8")), ruleset_json_schema())


def test_the_json_schema_rejects_what_dq_rejects() -> None:
    with pytest.raises(jsonschema.ValidationError, match="splitt"):
        jsonschema.validate({"splitt": {"seed": 1}}, ruleset_json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"contamination": [{"check": "dq.exact", "action": "explode"}]}, ruleset_json_schema()
        )


def hook_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", HOOK_DOC.read_text(encoding="utf-8"), flags=re.S)


def _as_module(i: int, code: str) -> types.ModuleType:
    module = types.ModuleType(f"doc_example_{i}")
    exec(compile(code, f"{HOOK_DOC}:example {i}", "exec"), module.__dict__)  # noqa: S102 - our own docs
    return module


def test_every_hook_has_a_runnable_example() -> None:
    examples = hook_examples()
    hooks = {m for code in examples for m in re.findall(r"def (dq_\w+)\(", code)}
    documented = set(re.findall(r"^## (dq_\w+)\(", HOOK_DOC.read_text(encoding="utf-8"), flags=re.M))
    assert hooks == documented and len(examples) == len(documented)


def test_hook_examples_work_together_in_a_run(tmp_path: Path) -> None:
    modules = [_as_module(i, code) for i, code in enumerate(hook_examples())]
    pm, infos, _ = make_plugin_manager(load_entrypoints=False, extra=modules)
    registry = build_registry(pm, infos)
    rules = tmp_path / "acme.toml"
    rules.write_text(
        'name = "acme"\n'
        'pipeline = ["dq.load", "dq.curate", "acme.count", "dq.split", "dq.gate", "dq.tokens", "dq.write"]\n'
        'reports = ["acme.row_counts"]\n'
        '[render]\nrenderer = "acme.bytes"\n'
        '[[rules]]\nrule = "acme.short_solution"\nmin_chars = 40\n'
        '[split]\nsplitter = "acme.source_to_val"\nsource = "math"\n'
        '[[contamination]]\ncheck = "acme.contains"\naction = "warn"\n'
        '[leakage]\naction = "warn"\n',
        encoding="utf-8",
    )
    result, state = run_pipeline(pm, registry, rules, out_dir=tmp_path / "out")
    assert result.exit_code == 0, state.gates
    assert state.notes[0] == "acme: acme with 1 rules" and state.notes[1].startswith("accepted=")
    assert state.notes[-1] == "acme: pass -> out"  # warn gates only
    assert set(state.val["source"]) == {"math"} and "math" not in set(state.train["source"])
    assert state.plan.rules[0].rule.params.min_chars == 40  # planted copies have 47-character solutions
    assert state.matches is not None and set(state.matches["check"]) == {"acme.contains"}
    tokens = json.loads((tmp_path / "out/rendered/tokens.json").read_text())
    assert tokens["renderer"] == "acme.bytes" and tokens["train"]["rows"] == state.train.height
    system_bytes = len(f"system: {state.rule_set.render.system_prompt}\n".encode())
    assert tokens["train"]["delta_range"]["full_min"] == system_bytes  # the toy's tokens are bytes
    assert {"acme.uniform", "acme.last_line"} <= {
        *registry.items["train_backends"],
        *registry.items["evaluators"],
    }
    counts = (tmp_path / "out/reports/row_counts.txt").read_text()
    assert counts == f"train {state.train.height}\nval {state.val.height}\n"

    import click

    group = click.Group()
    pm.hook.dq_register_commands(cli=group)
    assert CliRunner().invoke(group, ["acme-hello"]).output == "hello from acme\n"
