"""The layout holds: no import cycles, the contract apart from the engine, light CLI start-up.

The import graph is read from the source (every import statement: module level, inside
functions, and under ``TYPE_CHECKING``), over dq, the built-in stages (``dq_stages``) and the
built-in reporters (``dq_reports``).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = {"dq": ROOT / "dq", "dq_stages": ROOT / "stages", "dq_reports": ROOT / "reports"}
HEAVY = ("numba", "duckdb")


def module_files() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "dq.api.run" in graph["dq.api"] and "dq.pipeline.plan" in graph["dq.pipeline.execute"]
    assert "dq.api.run" in graph["dq.api.hookspecs"]  # an import under TYPE_CHECKING counts
    assert "dq.contamination.lsh" in graph["dq.contamination.kernels"]  # under TYPE_CHECKING too
    assert "dq.contamination.exact" in graph["dq.contamination"]  # and one inside a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles_type_only_imports_included() -> None:
    assert find_cycle(import_graph()) is None


def test_core_never_imports_the_builtin_plugin_packages() -> None:
    bad = [
        (src, dst)
        for src, dsts in import_graph().items()
        if src.split(".")[0] == "dq"
        for dst in dsts
        if dst.split(".")[0] in ("dq_stages", "dq_reports")
    ]
    assert bad == []


def test_the_plugin_contract_imports_nothing_of_the_engine() -> None:
    bad = [
        (src, dst)
        for src, dsts in import_graph().items()
        if src == "dq.api" or src.startswith("dq.api.")
        for dst in dsts
        if not dst.startswith("dq.api")
    ]
    assert bad == []


def test_modules_stay_small() -> None:
    long = {name: n for name, p in module_files().items() if (n := len(p.read_text().splitlines())) > 320}
    assert long == {}


def test_every_package_is_in_the_wheel() -> None:
    """pyproject lists packages by hand (stages/ and reports/ are renamed): none may be forgotten."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {name for name, path in module_files().items() if path.name == "__init__.py"}
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def _imported_modules(*args: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dq", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    ]
    assert len(lines) > 50  # the -X importtime report was read
    return set(lines)


@pytest.mark.parametrize("args", [("--help",), ("rules", "list")], ids=["help", "rules-list"])
def test_help_and_rules_list_import_neither_numba_nor_duckdb(args: tuple[str, ...]) -> None:
    loaded = _imported_modules(*args)
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
