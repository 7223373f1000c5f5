"""The rule-set schema, documented from the code: a JSON Schema for editors and docs/ruleset.md."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from dq.api.schema import (
    BenchmarkSpec,
    CostSpec,
    EvalSpec,
    GateEntry,
    InputSpec,
    LeakageSpec,
    RenderSpec,
    RuleEntry,
    RuleSet,
    SplitSpec,
    TrainSpec,
)
from dq.plugins import Registry

#: TOML table of each schema model, in the order docs/ruleset.md presents them.
TABLES: list[tuple[str, type[BaseModel]]] = [
    ("(top level)", RuleSet),
    ("[input]", InputSpec),
    ("[[rules]]", RuleEntry),
    ("[split]", SplitSpec),
    ("[[benchmarks]]", BenchmarkSpec),
    ("[[contamination]]", GateEntry),
    ("[leakage]", LeakageSpec),
    ("[render]", RenderSpec),
    ("[render.cost]", CostSpec),
    ("[train]", TrainSpec),
    ("[eval]", EvalSpec),
]
#: Sub-tables whose component's own keys sit inline beside dq's keys.
INLINE = {"RuleEntry": "params", "SplitSpec": "options", "GateEntry": "options"}
SET_BY_DQ = ("source_path", "sha256")


def ruleset_json_schema() -> dict[str, Any]:
    """JSON Schema of rule-set files as written in TOML (component keys inline)."""
    schema = RuleSet.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dq rule set"
    for key in SET_BY_DQ:
        schema["properties"].pop(key, None)
    for model, inner in INLINE.items():
        definition = schema["$defs"][model]
        definition["properties"].pop(inner, None)
        definition["additionalProperties"] = True
        definition["description"] += " Other keys are the component's own (see dq rules show NAME)."
    return schema


def _type_name(annotation: Any) -> str:
    name = getattr(annotation, "__name__", None)
    text = str(annotation).replace("typing.", "") if name is None or "[" in str(annotation) else name
    return text.replace("dq.api.schema.", "")


def _default(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "(table)"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "(see below)"
    return json.dumps(value, ensure_ascii=False)


def _rows(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if name in skip or name in SET_BY_DQ:
            continue
        default = "required" if info.is_required() else _default(info.get_default(call_default_factory=True))
        cell = (info.description or "").replace("|", "\\|")
        kind = _type_name(info.annotation).replace("|", "\\|")
        lines.append(f"| `{name}` | `{kind}` | `{default}` | {cell} |")
    return lines


def ruleset_markdown(registry: Registry) -> str:
    """docs/ruleset.md: every rule-set key, then the options of every built-in splitter and check."""
    out = [
        "# Rule-set reference",
        "",
        "Generated from the code by `DQ_LOAD_PLUGINS= dq rules schema --markdown`; a test keeps it",
        "current. `dq rules schema` prints the same schema as JSON Schema, for editors that validate",
        "TOML. Rules' own parameters: [rules.md](rules.md).",
        "",
    ]
    for table, model in TABLES:
        out += [f"## `{table}`", "", (model.__doc__ or "").strip(), ""]
        out += _rows(model, skip=(INLINE.get(model.__name__, ""),)) + [""]
    for kind, title in (("splitters", "Splitter"), ("contamination_checks", "Contamination check")):
        for name, cls in sorted(registry.items[kind].items()):
            out += [f"## {title} `{name}` options", "", cls.summary(), ""]
            out += _rows(cls.Options) + [""]
    return "\n".join(out).rstrip() + "\n"
