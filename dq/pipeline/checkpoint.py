"""One stage's checkpoint on disk: the run-state attributes it set and the files it wrote.

A checkpoint folder holds::

    values.pkl       the attributes, pickled; every Polars frame or series anywhere in them is
                     written apart as Arrow IPC (frames/N.arrow, LZ4) and pickled as a reference
    frames/N.arrow   string columns that repeat values are codes into one dictionary per column
    frames/dictionary-N.arrow   name, shared by the checkpoint's frames (dq.pipeline.shared_strings)
    files/REL        the files the stage wrote into the run's work folder (REL as there)
    checkpoint.json  what the folder is (its key, the stage), the sha256 of every file above, the
                     files and folders the stage made or removed, and its timing; written last

The folder is written as a temp sibling and renamed into place whole (see :mod:`dq.pipeline.resume`).
What a stage set is found by comparing :func:`fingerprint` of each attribute before and after it
ran: plain values by their pickled bytes, frames by identity, shape and schema (a stage assigns
new frames; it does not change a frame's cells in place), files by size, mtime and inode.

Pickle is loaded only from dq's own checkpoint folders (created 0700 by this user under
``$DQ_CACHE_DIR/runs``), only after every file's sha256 matches checkpoint.json, and through an
unpickler that resolves classes from an allowlist (dq's own modules, the modules of the plan's
components, Polars, pydantic, NumPy and plain builtin containers). Anything else, and any missing,
unreadable or mismatching file, makes the checkpoint invalid: the stage simply runs again.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import pickle
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dq.data.reader import file_sha256
from dq.pipeline import shared_strings
from dq.pipeline.shared_strings import StringPool

META = "checkpoint.json"
VALUES = "values.pkl"
#: Layout version of a checkpoint folder: a different one is never read.
FORMAT = 2
#: Top-level modules whose classes a checkpoint may name (the plan's component modules are added).
ALLOWED_MODULES = frozenset(
    {"dq", "dq_stages", "dq_reports", "polars", "pydantic", "pydantic_core", "numpy", "pathlib", "datetime"}
    | {"collections", "decimal", "fractions", "uuid", "enum", "copyreg"}
)
#: Builtins a checkpoint may name: data types only, never a callable that runs code.
ALLOWED_BUILTINS = frozenset(
    {"dict", "list", "tuple", "set", "frozenset", "bytearray", "bytes", "str", "int", "float"}
    | {"bool", "complex", "range", "slice", "object", "NoneType"}
)


class CheckpointError(Exception):
    """A checkpoint folder that cannot be used (missing, partial, corrupt, or from elsewhere)."""


def is_frame(obj: object) -> bool:
    return isinstance(obj, (pl.DataFrame, pl.Series))


class _Pickler(pickle.Pickler):
    """Pickles frames as references: written to ``frames`` when given, else kept (fingerprints)."""

    def __init__(
        self, buffer: io.BytesIO, frames: Path | None, dictionaries: dict[str, pl.Series] | None = None
    ) -> None:
        super().__init__(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self.frames = frames
        self.dictionaries = dictionaries or {}
        self.kept: list[Any] = []
        self.names: dict[int, tuple[str, list[str]]] = {}  # id -> file, its encoded columns

    def persistent_id(self, obj: Any) -> Any:
        if not is_frame(obj):
            return None
        kind = "series" if isinstance(obj, pl.Series) else "frame"
        if self.frames is None:
            # A fingerprint: identity, shape and schema; the object is kept alive so that its id
            # cannot be reused by another object while fingerprints are compared.
            self.kept.append(obj)
            schema = obj.schema if isinstance(obj, pl.DataFrame) else {obj.name: obj.dtype}
            return (kind, id(obj), obj.shape, repr(schema))
        if id(obj) not in self.names:
            name = f"{len(self.names)}.arrow"
            frame, encoded = shared_strings.encode(_as_frame(obj), self.dictionaries)
            frame.write_ipc(self.frames / name, compression="lz4")
            self.names[id(obj)] = (name, encoded)
            self.kept.append(obj)
        return (kind, *self.names[id(obj)])


def _as_frame(obj: pl.DataFrame | pl.Series) -> pl.DataFrame:
    return obj.to_frame() if isinstance(obj, pl.Series) else obj


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, frames: Path, allowed: frozenset[str], pool: StringPool) -> None:
        super().__init__(io.BytesIO(data))
        self.frames, self.allowed, self.pool = frames, allowed, pool
        self.loaded: dict[str, Any] = {}
        self.dictionaries: dict[str, pl.Series] | None = None

    def find_class(self, module: str, name: str) -> Any:
        top = module.split(".", 1)[0]
        if module == "builtins" and name in ALLOWED_BUILTINS:
            return getattr(builtins, name)
        if top in self.allowed and top != "builtins":
            return super().find_class(module, name)
        raise CheckpointError(f"names {module}.{name}, which a checkpoint may not hold")

    def persistent_load(self, pid: Any) -> Any:
        kind, name, encoded = pid
        if name not in self.loaded:
            frame = pl.read_ipc(self.frames / name)  # LZ4: decompressed into memory, never mapped
            if encoded:
                if self.dictionaries is None:
                    self.dictionaries = _read_dictionaries(self.frames)
                frame = self.pool.decode(frame, {c: self.dictionaries[c] for c in encoded})
            self.loaded[name] = frame.to_series() if kind == "series" else frame
        return self.loaded[name]


def _write_dictionaries(frames: Path, dictionaries: dict[str, pl.Series]) -> None:
    for number, (name, values) in enumerate(dictionaries.items()):
        values.to_frame(name).write_ipc(frames / f"dictionary-{number}.arrow", compression="lz4")


def _read_dictionaries(frames: Path) -> dict[str, pl.Series]:
    tables = (pl.read_ipc(p) for p in sorted(frames.glob("dictionary-*.arrow")))
    return {t.columns[0]: t.to_series().rechunk() for t in tables}


def fingerprint(value: Any) -> tuple[bytes | None, list[Any]]:
    """Bytes that change when ``value`` changes (frames by identity, shape and schema), and the
    objects to keep alive while comparing; None when the value cannot be pickled."""
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, None)
    try:
        pickler.dump(value)
    except Exception:  # noqa: BLE001 - unpicklable: the caller treats it as changed
        return None, pickler.kept
    return buffer.getvalue(), pickler.kept


@dataclass
class Contents:
    """What a checkpoint holds: attribute values, and the work-folder changes of its stage."""

    values: dict[str, Any]
    #: Work-folder files the stage wrote: relative path -> where the bytes are (work or checkpoint).
    files: dict[str, Path] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def link_or_copy(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` where both are on one file system, else a copy.

    A stage's outputs can be gigabytes (rendered rows of a streamed run); a link costs neither
    time nor disk. dq writes each file once, as a new file, so the two names never diverge; if
    something rewrote one in place, the checkpoint's sha256 would no longer match and that stage
    would simply run again.
    """
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def write(folder: Path, contents: Contents) -> None:
    """Write ``contents`` into the new folder ``folder``; checkpoint.json (with every sha256) last."""
    (folder / "frames").mkdir(parents=True)
    _, frames = fingerprint(contents.values)  # every frame, to share their repeated strings
    dictionaries = shared_strings.repeated_columns(_as_frame(f) for f in frames)
    _write_dictionaries(folder / "frames", dictionaries)
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, folder / "frames", dictionaries)
    pickler.dump(contents.values)
    (folder / VALUES).write_bytes(buffer.getvalue())
    for rel, source in contents.files.items():
        target = folder / "files" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(source, target)
    payload = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    meta = {
        **contents.meta,
        "format": FORMAT,
        "written_by": "dq",
        "files": sorted(contents.files),
        "removed": contents.removed,
        "folders": contents.folders,
        "sha256": {rel: file_sha256(folder / rel) for rel in payload},
    }
    (folder / META).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def read(folder: Path, key: str, allowed: Iterable[str] = (), pool: StringPool | None = None) -> Contents:
    """The contents of a checkpoint folder, checked whole; CheckpointError when it cannot be used.

    Checkpoints read with one ``pool`` share the strings their frames repeat (see
    :mod:`dq.pipeline.shared_strings`)."""
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{META} unreadable ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("key") != key:
        raise CheckpointError(f"{META} is not this stage's (format or key differs)")
    digests = meta.get("sha256")
    if not isinstance(digests, dict) or VALUES not in digests:
        raise CheckpointError(f"{META} lists no files")
    try:
        for rel, digest in digests.items():
            if file_sha256(folder / rel) != digest:
                raise CheckpointError(f"{rel}: sha256 differs from {META}")
        data = (folder / VALUES).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"unreadable: {exc.strerror or exc}") from None
    try:
        unpickler = _Unpickler(data, folder / "frames", ALLOWED_MODULES | set(allowed), pool or StringPool())
        values = unpickler.load()
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to load means: run the stage again
        raise CheckpointError(f"{VALUES} unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(values, dict):
        raise CheckpointError(f"{VALUES} holds no attribute table")
    files = {rel: folder / "files" / rel for rel in meta.get("files", [])}
    removed, folders = list(meta.get("removed", [])), list(meta.get("folders", []))
    for rel in [*files, *removed, *folders]:
        if not isinstance(rel, str) or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise CheckpointError(f"{META} names a path outside the work folder: {rel!r}")
    if any(f"files/{rel}" not in digests for rel in files):
        raise CheckpointError(f"{META} lists a file without its sha256")
    return Contents(values, files, removed, folders, meta)
