"""CI runs the README's test command verbatim, so the README's command is the one that is tested."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Run the tests", 1)[1]
    block = re.search(r"```\n(.*?)```", section, flags=re.S)
    assert block, "README has no code block under 'Run the tests'"
    return block.group(1).strip().splitlines()[-1].strip()


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    command = readme_test_command()
    assert command.startswith("pytest ")
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert command in ci_lines


def test_ci_installs_from_the_projects_own_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Run the tests", 1)[1]
    install = re.search(r"```\n(.*?)```", section, flags=re.S).group(1).strip().splitlines()[0]  # type: ignore[union-attr]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for target in re.findall(r'-e ("[^"]+"|\S+)', install):
        assert target.strip('"') in ci, f"CI does not install {target}"
