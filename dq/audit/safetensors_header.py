"""Read a safetensors file's header only: the 8-byte length, then the JSON table of tensors.

Format (https://github.com/huggingface/safetensors): an unsigned little-endian 64-bit header
length N, N bytes of UTF-8 JSON mapping each tensor name to ``{dtype, shape, data_offsets}``
(plus an optional ``__metadata__`` of strings), then the raw tensor bytes. No tensor data is
read here, so auditing a multi-gigabyte file costs one small read.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dq.errors import DqError

#: Bytes per element of every safetensors dtype.
ITEMSIZE = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2,
    "U16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip
#: The safetensors library refuses headers above 100 MB; so does dq (a corrupt length otherwise
#: asks for gigabytes).
MAX_HEADER = 100_000_000


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the header: name, dtype, shape and its byte count."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class SafetensorsHeader:
    """A parsed header: tensors in file order, metadata, header length and file size."""

    path: Path
    tensors: tuple[TensorEntry, ...]
    metadata: dict[str, str]
    header_bytes: int
    file_bytes: int

    @property
    def data_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)


def read_header(path: Path) -> SafetensorsHeader:
    """Parse and check the header of ``path``; one-line :class:`DqError` when it is not valid."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            prefix = fh.read(8)
            if len(prefix) < 8:
                raise DqError(f"{path}: {size} bytes, too short for a safetensors file")
            (length,) = struct.unpack("<Q", prefix)
            if length > min(MAX_HEADER, size - 8):
                raise DqError(f"{path}: header length {length} exceeds the file ({size} bytes)")
            raw = fh.read(length)
    except OSError as exc:
        raise DqError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        table = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DqError(f"{path}: header is not JSON ({exc})") from None
    if not isinstance(table, dict):
        raise DqError(f"{path}: header is not a JSON object")
    metadata = table.pop("__metadata__", None) or {}
    tensors = tuple(_entry(path, name, spec) for name, spec in table.items())
    end = max((_offsets(spec)[1] for spec in table.values()), default=0)
    if 8 + length + end != size:
        raise DqError(f"{path}: header describes {8 + length + end} bytes, file has {size} (truncated?)")
    return SafetensorsHeader(path, tensors, dict(metadata), length, size)


def _offsets(spec: dict[str, Any]) -> tuple[int, int]:
    offsets = spec["data_offsets"]
    return int(offsets[0]), int(offsets[1])


def _entry(path: Path, name: str, spec: object) -> TensorEntry:
    if not isinstance(spec, dict) or not {"dtype", "shape", "data_offsets"} <= spec.keys():
        raise DqError(f"{path}: tensor '{name}': needs dtype, shape and data_offsets")
    dtype = str(spec["dtype"])
    if dtype not in ITEMSIZE:
        raise DqError(f"{path}: tensor '{name}': unknown dtype {dtype}")
    shape = tuple(int(d) for d in spec["shape"])
    begin, end = _offsets(spec)
    nbytes = math.prod(shape) * ITEMSIZE[dtype]
    if end - begin != nbytes or begin < 0:
        raise DqError(f"{path}: tensor '{name}': offsets {begin}..{end} do not hold {dtype}{list(shape)}")
    return TensorEntry(name, dtype, shape, nbytes)
