"""Start or join a Ray session without touching the host: loopback only, no token under ~, no telemetry.

Measured on this machine: a bare ``ray.init()`` binds the host's network interface and writes an
auth token under the home folder. A local session here listens on 127.0.0.1 only, keeps every
file under its own temp dir and sends no usage stats.

Ray reads ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` once, when it is imported, and otherwise turns
``_node_ip_address="127.0.0.1"`` back into the host's address (its gRPC servers then listen on
every interface): the environment must be set before the first ``import ray`` of the process,
which :func:`ray_session` does, and it refuses a local session when Ray was imported without it.

dq owns the terminal (:func:`ray_logging`): workers' output never reaches the driver
(``log_to_driver=False``), Ray core's driver loggers are left unconfigured (``configure_logging=False``),
Ray Data's console handler shows warnings at most, and errors only on a quiet run (``--quiet`` or a
piped stderr); Ray Data's own log file in the session folder keeps everything.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Environment a local session needs (set before ``ray.init``; Ray reads them in its subprocesses).
LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
}


def init_kwargs(temp_dir: Path, num_cpus: int | None) -> dict[str, Any]:
    """``ray.init`` arguments of a loopback-only local session rooted at ``temp_dir``."""
    kwargs: dict[str, Any] = {
        "address": "local",
        "_node_ip_address": "127.0.0.1",
        "include_dashboard": False,
        "_temp_dir": str(temp_dir),
        "configure_logging": False,
        "log_to_driver": False,
    }
    if num_cpus is not None:
        kwargs["num_cpus"] = num_cpus
    return kwargs


def loopback_ready() -> bool:
    """Whether a local session would stay on loopback: Ray not imported yet, or imported with
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (Ray keeps the value it saw at import)."""
    import sys

    constants = sys.modules.get("ray._private.ray_constants")
    return constants is None or not getattr(constants, "ENABLE_RAY_CLUSTER", True)


#: Ray Data's once-per-process notice that progress bars are off: dq turns them off on purpose.
BARS_OFF_NOTICE = "ray_data_progress_manager_disabled"


@contextmanager
def ray_logging(quiet: bool) -> Iterator[None]:
    """Ray's log lines on stderr for the block: errors only when ``quiet``, else warnings and errors.

    Ray core's loggers (``ray``, driver side) get ERROR when quiet; the console handlers Ray Data puts
    on ``ray.data`` (INFO: "Dataset ... execution finished", plans) get WARNING, or ERROR when quiet.
    Ray Data's file handler (ray-data.log in the session folder) keeps its level. Restored on exit.
    """
    import ray.data  # noqa: F401 - its import configures the "ray.data" logger and its handlers
    from ray.util.debug import log_once

    log_once(BARS_OFF_NOTICE)  # marks the notice as already given
    level = logging.ERROR if quiet else logging.WARNING
    core = logging.getLogger("ray")
    consoles = [
        h
        for h in logging.getLogger("ray.data").handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    saved = core.level, [(h, h.level) for h in consoles]
    if quiet:
        core.setLevel(logging.ERROR)
    for handler in consoles:
        handler.setLevel(max(handler.level, level))
    try:
        yield
    finally:
        core.setLevel(saved[0])
        for handler, previous in saved[1]:
            handler.setLevel(previous)


@contextmanager
def ray_session(
    address: str | None, temp_dir: Path, num_cpus: int | None = None, quiet: bool = False
) -> Iterator[Any]:
    """A Ray session for one run: a loopback local one (``address`` None or "local"), else the cluster
    at ``address``; shut down on exit only when this call started it. Ray's own log lines are
    errors only when ``quiet``, else warnings and errors (:func:`ray_logging`)."""
    local = address in (None, "local")
    # A driver joining a real cluster must keep its routable address (and the cluster's auth).
    env = LOOPBACK_ENV if local else {"RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # before the import: Ray reads them once (see the module doc)
    try:
        if local and not loopback_ready():
            raise RuntimeError(
                "Ray was imported before RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 was set: a local session "
                "would listen on the host's interfaces; set it before importing ray"
            )
        import ray

        with ray_logging(quiet):  # before ray.init: its own warnings (/dev/shm size...) count too
            if ray.is_initialized():  # an enclosing session (a test's, a notebook's) is reused as is
                yield ray
                return
            if local:
                temp_dir.mkdir(parents=True, exist_ok=True)
                ray.init(**init_kwargs(temp_dir, num_cpus))
            else:
                ray.init(address=address, configure_logging=False, log_to_driver=False)
            try:
                yield ray
            finally:
                ray.shutdown()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
