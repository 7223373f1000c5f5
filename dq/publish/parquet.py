"""JSONL splits to Parquet shards with fixed settings, so the same JSONL always gives the same bytes.

The schema is explicit for the fields dq writes (every value a string; ``messages`` a list of
``{role, content}``), so a column's type never depends on what the first rows hold; a field dq
does not know (a later renderer's extra key) is inferred and kept after them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dq.errors import DqError

if TYPE_CHECKING:
    import pyarrow as pa

#: Rows per Parquet file: files stay well under the Hub's recommended few hundred MB.
SHARD_ROWS = 500_000
#: Rows per row group: small enough for the Hub's dataset viewer to page through.
ROW_GROUP_ROWS = 10_000

WRITER_SETTINGS = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "store_schema": True,
}

RAW_FIELDS = ("row_id", "source", "problem", "generated_solution", "expected_answer")
RENDERED_FIELDS = ("row_id", "source", "expected_answer", "messages")


def schema_for(config: str) -> pa.Schema:
    """The explicit Arrow schema of the ``raw`` or ``rendered`` rows (SEED_CONTRACTS §1.9)."""
    import pyarrow as pa

    if config == "rendered":
        message = pa.struct([("role", pa.string()), ("content", pa.string())])
        return pa.schema(
            [(f, pa.list_(message) if f == "messages" else pa.string()) for f in RENDERED_FIELDS]
        )
    return pa.schema([(f, pa.string()) for f in RAW_FIELDS])


def read_jsonl(path: Path, config: str, label: str) -> pa.Table:
    """One JSONL split as an Arrow table, in file order; a malformed file is one line naming it."""
    import pyarrow as pa
    import pyarrow.json as pj

    schema = schema_for(config)
    if path.stat().st_size == 0:
        return schema.empty_table()
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    try:
        return pj.read_json(path, parse_options=options)
    except pa.ArrowInvalid as exc:
        raise DqError(f"{label}: not the JSONL dq writes ({str(exc).splitlines()[0]})") from None


def write_shards(table: pa.Table, folder: Path, stem: str, shard_rows: int = SHARD_ROWS) -> list[Path]:
    """Write ``stem-0000i-of-0000n.parquet`` files (at least one, even for an empty split)."""
    import pyarrow.parquet as pq

    rows = table.num_rows
    count = max(1, -(-rows // shard_rows))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{stem}-{i:05d}-of-{count:05d}.parquet"
        part = table.slice(i * shard_rows, shard_rows)
        # Every setting is pinned: pyarrow's defaults may change between versions, bytes must not.
        with pq.ParquetWriter(path, part.schema, **WRITER_SETTINGS) as writer:
            # An empty split gets no row group at all: `datasets` sizes its batches from the
            # first row group and fails on one of 0 rows, but reads a file with none as empty.
            if part.num_rows:
                writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
        paths.append(path)
    return paths
