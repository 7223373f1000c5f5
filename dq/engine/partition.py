"""Engine-free partition functions: dq's row-level and near-duplicate steps as Arrow-in/Arrow-out pieces.

Every function here runs on one partition of the data and reuses dq's own code (the bound rules
through :func:`dq.pipeline.curation.apply_rules`, the signatures of :mod:`dq.contamination.shingles`,
the bucket kernel of :mod:`dq.contamination.lsh`, a check's own ``find``); the ``merge_*``
functions put the partitions' results back together on the driver, equal to the local engine's.
Nothing here imports Ray: the Ray engine (:mod:`dq.engine.ray_engine`) only ships these functions
to workers, and the partition-equivalence tests call them directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import polars as pl
import pyarrow as pa

from dq.api.run import BoundRule
from dq.contamination.lsh import _root, _union
from dq.pipeline.curation import CurateResult, apply_rules

#: Columns a curated partition adds to its rows: the reject reason and every verdict of the row.
REASON, VERDICTS = "reason", "verdicts"
#: Parameters of the near-duplicate components (those of :func:`dq.contamination.lsh.components`).
NEAR_NGRAM, NEAR_PERM, NEAR_BANDS = 5, 128, 32
#: Odd 64-bit multiplier that mixes the band into a band key's partition hash.
_BAND_MIX = np.uint64(0x9E3779B97F4A7C15)


def frame(table: pa.Table) -> pl.DataFrame:
    """An Arrow table as a Polars frame (zero-copy where Arrow allows)."""
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)  # a Table, never an Array, comes in
    return out


def split_ranges(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (start, stop) ranges covering ``range(n)``, sizes differing by at most 1."""
    parts = max(1, min(parts, n)) if n else 1
    bounds = [n * i // parts for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


# --- curate ---------------------------------------------------------------------------------


def curate_batch(batch: pa.Table, rules: Sequence[BoundRule], skips: Sequence[BoundRule]) -> pa.Table:
    """One batch of rows through the plan's bound rules: its considered rows, each with its reject
    ``reason`` (first failing rule; null when accepted) and ``verdicts`` (every rule that fired,
    in rule order). Skipped rows are dropped here, as :func:`apply_rules` drops them: counted nowhere.
    """
    result = apply_rules(frame(batch), rules, skips)
    fired = result.verdicts.group_by("row_index", maintain_order=True).agg(
        pl.struct("rule", "detail").alias(VERDICTS)
    )
    labelled = result.considered.join(
        result.rejected.select("row_index", REASON), on="row_index", how="left", maintain_order="left"
    ).join(fired, on="row_index", how="left", maintain_order="left")
    return labelled.to_arrow()


def merge_curated(
    batches: Sequence[pa.Table], verdict_index: pl.DataType | type[pl.DataType] = pl.UInt32
) -> CurateResult:
    """The partitions' curated rows (input order) back into the local engine's :class:`CurateResult`."""
    frames = [frame(b) for b in batches if b.num_rows] or [frame(batches[0])]  # all empty: keep a schema
    rows = pl.concat(frames)
    considered = rows.drop(REASON, VERDICTS)
    fired = rows.select("row_index", VERDICTS).explode(VERDICTS).drop_nulls(VERDICTS)
    verdicts = fired.unnest(VERDICTS).sort("row_index", maintain_order=True)
    if verdicts.height == 0:
        verdicts = pl.DataFrame(schema={"row_index": verdict_index, "rule": pl.String, "detail": pl.String})
    return CurateResult(
        considered=considered,
        accepted=rows.filter(pl.col(REASON).is_null()).drop(REASON, VERDICTS),
        rejected=rows.filter(pl.col(REASON).is_not_null()).drop(VERDICTS),
        verdicts=verdicts,
    )


# --- near-duplicate components ----------------------------------------------------------------


def signatures_batch(batch: pa.Table, num_perm: int = NEAR_PERM, n: int = NEAR_NGRAM) -> pa.Table:
    """MinHash signatures (character ``n``-grams of the canonical text) of a batch of ``doc, text``."""
    from dq.contamination.shingles import build_docs

    texts = pl.from_arrow(batch.select(["text"])).to_series()  # type: ignore[union-attr]
    sig = build_docs(texts, n, char=True, num_perm=num_perm).sig
    flat = pa.array(np.ascontiguousarray(sig).reshape(-1), type=pa.uint32())  # type: ignore[union-attr]
    return pa.table({"doc": batch.column("doc"), "sig": pa.FixedSizeListArray.from_arrays(flat, num_perm)})


def sig_matrix(table: pa.Table) -> np.ndarray:
    """The (docs, num_perm) uint32 matrix of a ``signatures_batch`` table (zero-copy where Arrow allows)."""
    column = table.column("sig").combine_chunks()
    width = column.type.list_size
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)


def band_rows(signed: pa.Table, bands: int = NEAR_BANDS, parts: int = 1) -> list[pa.Table]:
    """The (band, key, doc) rows of a signed batch, hash-partitioned by band key into ``parts`` tables.

    All rows of one (band, key) bucket land in one partition whatever batch they come from, so
    :func:`link_partition` sees each bucket whole.
    """
    from dq.contamination.lsh import band_keys

    keys = band_keys(sig_matrix(signed), bands)
    docs = np.repeat(signed.column("doc").to_numpy(), bands).astype(np.int64)
    band = np.tile(np.arange(bands, dtype=np.int32), keys.shape[0])
    flat = keys.reshape(-1)
    with np.errstate(over="ignore"):
        part = ((flat ^ (band.astype(np.uint64) * _BAND_MIX)) % np.uint64(parts)).astype(np.int64)
    order = np.argsort(part, kind="stable")
    cuts = np.searchsorted(part[order], np.arange(parts + 1))
    return [
        pa.table({"band": band[idx], "key": flat[idx], "doc": docs[idx]})
        for idx in (order[cuts[p] : cuts[p + 1]] for p in range(parts))
    ]


def link_partition(
    rows: pa.Table | Sequence[pa.Table], sig: np.ndarray, threshold: float, bands: int = NEAR_BANDS
) -> pa.Table:
    """Edges (a, b) joining the docs of each bucket in this band-key partition whose estimated Jaccard
    (equal signature slots) reaches ``threshold``: a spanning forest of the partition's links.

    ``sig`` is the (all docs, num_perm) signature matrix indexed by global doc id. The work is
    :func:`dq.contamination.lsh._link_buckets`, the local engine's kernel, over the partition's
    docs. The kernel skips a pair that shares an earlier band's key; that is sound here too: the
    earliest band the pair shares puts it in one bucket of one partition, which compares it.
    """
    from dq.contamination import lsh

    table = pa.concat_tables(rows) if not isinstance(rows, pa.Table) else rows
    if table.num_rows == 0:
        return pa.table({"a": pa.array([], pa.int64()), "b": pa.array([], pa.int64())})
    band, key, doc = (table.column(c).to_numpy() for c in ("band", "key", "doc"))
    docs, local = np.unique(doc, return_inverse=True)
    local_sig = np.ascontiguousarray(sig[docs])
    keys = lsh.band_keys(local_sig, bands)  # equal to the shuffled keys: the same function
    parent = np.arange(docs.size, dtype=np.int64)
    need = math.ceil(threshold * sig.shape[1])
    for b in np.unique(band):
        mine = band == b
        order = local[mine][np.argsort(key[mine], kind="stable")].astype(np.int64)
        lsh._link_buckets(local_sig, keys, int(b), order, need, parent)
    roots = _roots(parent)
    linked = roots != np.arange(docs.size)
    return pa.table({"a": docs[roots[linked]].astype(np.int64), "b": docs[linked].astype(np.int64)})


def components_from_edges(n: int, edges: Sequence[pa.Table]) -> np.ndarray:
    """Union-find on the driver: for each of ``n`` docs, the smallest doc id of its component."""
    parent = np.arange(n, dtype=np.int64)
    for table in edges:
        a, b = (table.column(c).to_numpy().astype(np.int64) for c in ("a", "b"))
        _union_all(parent, a, b)
    return _roots(parent)


@numba.njit(cache=True)
def _union_all(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    for i in range(a.size):
        _union(parent, a[i], b[i])


@numba.njit(cache=True)
def _roots(parent: np.ndarray) -> np.ndarray:
    out = np.empty(parent.size, dtype=np.int64)
    for i in range(parent.size):
        out[i] = _root(parent, i)
    return out


def component_frame(distinct: pl.Series, labels: np.ndarray) -> pl.DataFrame:
    """``canonical, component`` as :func:`dq.contamination.leakage.near_components` numbers them."""
    _, dense = np.unique(labels, return_inverse=True)
    return pl.DataFrame({"canonical": distinct, "component": dense.astype(np.int64)})


# --- contamination checks -----------------------------------------------------------------------


def text_ranks(problems: pl.Series) -> pl.Series:
    """Each row's distinct-text rank in first-seen order (the order a check's batches walk them)."""
    frame = pl.DataFrame({"t": problems})
    firsts = frame.unique("t", maintain_order=True).with_row_index("rank")
    return frame.join(firsts, on="t", how="left", maintain_order="left")["rank"].cast(pl.Int64)


def find_batch(check: Any, batch: pa.Table, benchmarks: dict[str, pl.DataFrame]) -> pa.Table:
    """A check's own ``find`` on one partition of curated rows (``pos``, ``rank`` and the row columns):
    its matches with ``pos`` mapped back to the global row position and the row's text ``rank``."""
    rows = frame(batch)
    found = check.find(rows.drop("pos", "rank"), benchmarks)  # type: ignore[union-attr]
    mapping = rows.select(local=pl.int_range(rows.height, dtype=pl.UInt32), pos=pl.col("pos"), rank="rank")
    joined = found.rename({"pos": "local"}).join(mapping, on="local", how="left", maintain_order="left")
    return joined.drop("local").select(list(found.columns) + ["rank"]).to_arrow()  # type: ignore[union-attr]


#: Checks whose matches come out of one batch ordered by distinct text (then as found): their
#: partitions may cut a batch anywhere. Other checks' partitions hold whole batches.
ORDERED_BY_TEXT = frozenset({"dq.minhash"})


def find_ranges(check: Any, texts: int, splits: int) -> list[tuple[int, int]]:
    """Rank ranges of distinct texts for ``splits`` partitions of a check's ``find``.

    A check in :data:`ORDERED_BY_TEXT` may be cut anywhere; any other check is cut only at its own
    batch boundaries (multiples of ``batch_size``), so each partition's ``find`` sees the very
    batches the local engine's does and lists their matches in the same order.
    """
    if check.name in ORDERED_BY_TEXT:
        return split_ranges(texts, splits)
    size = check.options.batch_size
    chunks = split_ranges(-(-texts // size), splits)
    return [(a * size, min(b * size, texts)) for a, b in chunks]


def merge_found(
    batches: Sequence[pa.Table], benchmarks: Sequence[str], batch_size: int, by_text: bool
) -> pl.DataFrame:
    """Partitions' matches in the local order: batch of distinct texts, benchmark, (text,) as found."""
    found = pl.concat([frame(b) for b in batches])  # type: ignore[misc]
    order = pl.DataFrame({"benchmark": list(benchmarks)}).with_row_index("bench_order")
    keyed = found.join(order, on="benchmark", how="left", maintain_order="left")
    keys = ["chunk", "bench_order"] + (["rank"] if by_text else [])
    keyed = keyed.with_columns(chunk=pl.col("rank") // batch_size)
    return keyed.sort(keys, maintain_order=True).drop("chunk", "bench_order", "rank")


# --- serial execution (the reference the engines are tested against) ---------------------------


def near_components_parts(
    canonical: pl.Series, threshold: float, splits: int = 1, parts: int = 1
) -> pl.DataFrame:
    """:func:`dq.contamination.leakage.near_components`, computed partition by partition in this process:
    distinct texts split ``splits`` ways for the signatures, band keys hash-partitioned ``parts`` ways."""
    distinct = canonical.unique(maintain_order=True).rename("canonical")
    if distinct.len() == 0:
        return pl.DataFrame({"canonical": distinct, "component": pl.Series([], dtype=pl.Int64)})
    signed = [signatures_batch(doc_batch(distinct, a, b)) for a, b in split_ranges(distinct.len(), splits)]
    sig = np.vstack([sig_matrix(s) for s in signed])
    shuffled = [band_rows(s, parts=parts) for s in signed]
    edges = [link_partition([sh[p] for sh in shuffled], sig, threshold) for p in range(parts)]
    return component_frame(distinct, components_from_edges(distinct.len(), edges))


def doc_batch(texts: pl.Series, start: int, stop: int) -> pa.Table:
    """Distinct texts ``start:stop`` as a ``doc, text`` batch (doc = global position)."""
    return pa.table(
        {
            "doc": pa.array(np.arange(start, stop, dtype=np.int64)),
            "text": texts.slice(start, stop - start).to_arrow(),
        }
    )


def curate_parts(
    rows: pl.DataFrame, rules: Sequence[BoundRule], skips: Sequence[BoundRule], splits: int = 1
) -> CurateResult:
    """:func:`dq.pipeline.curation.apply_rules` over ``splits`` contiguous partitions, merged."""
    batches = [
        curate_batch(rows.slice(a, b - a).to_arrow(), rules, skips)
        for a, b in split_ranges(rows.height, splits)
    ]
    return merge_curated(batches, index_type(rows))


def index_type(rows: pl.DataFrame) -> pl.DataType | type[pl.DataType]:
    """The dtype of the rows' ``row_index`` (what an empty verdicts table must carry)."""
    return rows.schema["row_index"] if "row_index" in rows.columns else pl.UInt32


def with_ranks(rows: pl.DataFrame) -> pl.DataFrame:
    """Curated rows with ``pos`` (their position, as the gate numbers them) and their text ``rank``."""
    return rows.with_columns(rank=text_ranks(rows["problem"])).with_row_index("pos")


def find_parts(
    check: Any, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame], splits: int = 1
) -> pl.DataFrame:
    """A near check's ``find`` over ``splits`` partitions of distinct texts, merged in the local order."""
    ranked = with_ranks(rows.drop("pos") if "pos" in rows.columns else rows)
    n = ranked["rank"].n_unique()
    batches = [
        find_batch(check, ranked.filter(pl.col("rank").is_between(a, b - 1)).to_arrow(), benchmarks)
        for a, b in find_ranges(check, n, splits)
    ]
    by_text = check.name in ORDERED_BY_TEXT
    return merge_found(batches, list(benchmarks), check.options.batch_size, by_text)
