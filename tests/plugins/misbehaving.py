"""A plugin whose stages misbehave on purpose: one sleeps (to be interrupted), one raises (a bug)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dq import Stage, hookimpl


class Sleep(Stage):
    """Wait long enough to be interrupted, after writing a file into the temp output folder."""

    name = "misbehaving.sleep"

    def run(self, state: Any) -> None:
        (state.work_dir / "partial.txt").write_text("half done\n")
        print("sleeping", flush=True)
        time.sleep(60)


class Crash(Stage):
    """Raise an exception dq did not expect."""

    name = "misbehaving.crash"

    def run(self, state: Any) -> None:
        raise RuntimeError("the plugin author forgot a case")


class MissingFile(Stage):
    """A bug that raises an OSError: still a bug (exit 3), not "cannot write the output folder"."""

    name = "misbehaving.missing_file"

    def run(self, state: Any) -> None:
        open("/nonexistent/dq/file.txt").read()  # noqa: SIM115 - the point is the error


@hookimpl
def dq_register_stages(register: Callable[[type], None]) -> None:
    register(Sleep)
    register(Crash)
    register(MissingFile)
