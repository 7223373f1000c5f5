"""Hugging Face inputs: ``hf:NAME[:CONFIG]:SPLIT`` streamed in Arrow batches, errors in one line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from dq.data.fields import ROW_COLUMNS, check_strings, select_fields
from dq.errors import DqError


def quiet_hub_logs() -> None:
    """Hub retries log a line per attempt; dq reports the outcome in one line instead.

    ``huggingface_hub`` and ``datasets`` reset their loggers' level when first imported, so this
    runs again after they are imported; progress bars go too (stderr stays dq's).
    """
    import logging
    import sys

    for name in ("huggingface_hub", "datasets", "fsspec", "filelock"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "datasets" in sys.modules:
        import datasets

        datasets.disable_progress_bars()


#: Values of HF_HUB_OFFLINE (and friends) that mean "offline", as huggingface_hub reads them.
_TRUE = {"1", "ON", "YES", "TRUE"}
#: Seconds the reachability probe waits for a TCP connection (DNS included).
PROBE_TIMEOUT = 1.5


def hub_offline_reason(timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why the Hugging Face Hub cannot be reached, or None when it can (decided in ``timeout`` s).

    ``HF_HUB_OFFLINE``, ``HF_DATASETS_OFFLINE`` and ``TRANSFORMERS_OFFLINE`` are honoured without
    a probe; otherwise one TCP connection to the Hub endpoint (``HF_ENDPOINT``), or to the HTTPS
    proxy when one is configured. Never imports ``datasets``.
    """
    import os

    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().upper() in _TRUE:
            return f"offline: {var} is set"
    host, port = _probe_address()
    problem = _connect_problem(host, port, timeout)
    return f"offline: {problem}" if problem else None


def _probe_address() -> tuple[str, int]:
    """Where a Hub request would connect first: the endpoint, or the proxy in front of it."""
    import os
    import urllib.request
    from urllib.parse import urlsplit

    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    proxy = urllib.request.getproxies().get(endpoint.scheme or "https")
    if proxy and not urllib.request.proxy_bypass(host):
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parts.hostname:
            return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    return host, port


def _connect_problem(host: str, port: int, timeout: float) -> str | None:
    """Why no TCP connection to ``host:port`` within ``timeout`` seconds (name lookup included), or None."""
    import socket
    import threading

    outcome: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(f"cannot connect to {host}:{port} ({exc.strerror or type(exc).__name__})")

    thread = threading.Thread(target=connect, name="dq-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else f"no answer from {host}:{port} within {timeout:g} s"


def datasets_cache_dir() -> Path:
    """The ``datasets`` cache folder, found as ``datasets`` finds it (without importing it)."""
    import os
    import sys

    if "datasets.config" in sys.modules:
        import datasets.config

        return Path(datasets.config.HF_DATASETS_CACHE).expanduser()
    if os.environ.get("HF_DATASETS_CACHE"):
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface"
    )
    return Path(home).expanduser() / "datasets"


def hub_cached(spec: str) -> bool:
    """Whether ``datasets`` holds a prepared copy of ``hf:NAME[:CONFIG]:SPLIT`` (every "+" config).

    Mirrors the cache layout ``datasets`` reloads offline (NAMESPACE___NAME/CONFIG/VERSION/HASH);
    a stale guess only costs a failed offline load, reported with the unreachable benchmarks.
    """
    import re

    name, config, _ = parse_hf_spec(spec)
    parts = name.split("/")
    last = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", parts[-1])
    parts[-1] = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", last).lower()
    root = datasets_cache_dir() / "___".join(parts)
    configs = config.split("+") if config else ["*"]
    return all(any(p.is_dir() for p in root.glob(f"{c}/*/*")) for c in configs)


@contextmanager
def hub_offline() -> Iterator[None]:
    """``datasets`` and ``huggingface_hub`` in offline mode for the block: cache only, no retries."""
    import datasets.config
    import huggingface_hub.constants as hub_constants

    saved = datasets.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE = saved


def parse_hf_spec(spec: str) -> tuple[str, str | None, str]:
    """``hf:NAME[:CONFIG]:SPLIT`` -> (name, config, split)."""
    parts = spec.removeprefix("hf:").split(":")
    if len(parts) == 2:
        return parts[0], None, parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise DqError(f"bad Hugging Face spec '{spec}': use hf:NAME:SPLIT or hf:NAME:CONFIG:SPLIT")


def iter_hf_batches(
    name: str,
    config: str | None,
    split: str,
    columns: list[str],
    batch_size: int = 50_000,
    **load_kwargs: Any,
) -> Iterator[pa.Table]:
    """Stream a Hugging Face dataset in Arrow batches, in stream order (no full download)."""
    try:
        import datasets
    except ImportError:
        raise DqError("reading hf: inputs needs the 'datasets' package: pip install 'dq[hf]'") from None
    quiet_hub_logs()
    try:
        stream = datasets.load_dataset(name, config, split=split, streaming=True, **load_kwargs)
        for batch in stream.iter(batch_size=batch_size):
            yield pa.table({c: pa.array(batch[c], pa.string()) for c in columns})
    except DqError:
        raise
    except KeyError as exc:
        raise DqError(f"hf:{name}: missing column {exc}; map one with --column") from None
    except Exception as exc:  # noqa: BLE001 - network/hub errors become one line
        raise DqError(f"hf:{name}:{split}: cannot load ({type(exc).__name__}: {exc})") from None


def read_hf(
    spec: str,
    mapping: dict[str, str],
    keep: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    **load_kwargs: Any,
) -> tuple[pl.DataFrame, int]:
    """Stream a Hub dataset batch by batch; ``keep`` filters each batch as it arrives.

    Returns the kept rows and the number streamed. ``row_index`` counts stream order before
    filtering, so a kept row keeps its stream position. With the strict source filter as
    ``keep``, OpenMathInstruct-2's rows of other sources never accumulate in memory.
    """
    name, config, split = parse_hf_spec(spec)
    wanted = [mapping.get(c, c) for c in ROW_COLUMNS]
    columns = dict(zip(ROW_COLUMNS, wanted, strict=True))
    frames, offset = [], 0
    for table in iter_hf_batches(name, config, split, list(dict.fromkeys(wanted)), **load_kwargs):
        batch = check_strings(select_fields(pl.from_arrow(table), columns), spec, offset)  # type: ignore[arg-type]
        batch = batch.with_row_index("row_index", offset=offset)
        offset += batch.height
        frames.append(keep(batch) if keep else batch)
    if offset == 0:
        raise DqError(f"{spec}: empty input (no rows)")
    return pl.concat(frames), offset
