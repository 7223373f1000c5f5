"""Semantic contamination: sentence embeddings of the canonical problem, exact top-k cosine per item.

Finds benchmark items reworded by an LLM (same quantities and answer, new wording), which no
lexical check finds. A fast first pass (a static token table fitted to the same model's sentence
vectors) sends only likely matches to the full model (ONNX Runtime on CPU when installed), whose
cosine is the reported score; a verification step labels each match a rewrite or a template
sibling from the quantities and answers of both sides.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np
import polars as pl

from dq.api.run import ContaminationCheck
from dq.contamination.kernels import shingles
from dq.contamination.near import MATCH_SCHEMA, _kind
from dq.contamination.semantic_options import SemanticOptions
from dq.embed import search, verify
from dq.embed.search import top_cosines
from dq.text import vector


class SemanticCheck(ContaminationCheck):
    """Reworded copies: cosine of sentence embeddings (all-MiniLM-L6-v2) of canonical problems.

    Each distinct canonical problem is embedded once and compared with every benchmark item (exact
    top-k cosine; benchmark embeddings cached). With the default model a static table fitted to it
    scores every row first, and only rows near an item (``dq.embed.search.route``) go to the model.
    A pair at cosine >= ``threshold`` is verified: the same quantities (``quantity_overlap``) or
    answer make a rewrite (``reworded``, or its lexical kind when also lexically near), otherwise
    a ``template_sibling``. Below it, down to ``verified_threshold``, only a row holding exactly the
    item's quantities (and no other answer) is reported. Evidence: cosine, both texts, quantities,
    answers, character 5-gram Jaccard (docs/contamination.md, "The verified tier").
    """

    name = "dq.semantic"
    method = "semantic"
    Options = SemanticOptions

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._encoder: Any = None
        self._table: Any = None
        self._bench: dict[tuple[str, int], np.ndarray] = {}
        self.sent = 0  # distinct problems the full model embedded (the bench reports it)
        self.rescored = 0  # of them, those the bf16 pass sent on to fp32

    def encoder(self) -> Any:
        """The full model, loaded on first use (torch and transformers are imported here)."""
        if self._encoder is None:
            from dq.embed.minilm import SentenceEncoder

            o = self.options
            self._encoder = SentenceEncoder(
                o.model, device=o.device, engine=o.engine, bf16_compile=o.bf16_compile
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

    def floor(self) -> float:
        """The lowest full-model cosine any pair can be reported at (the verified tier's, when on)."""
        return min(self.options.threshold, self.options.verified_threshold)

    def candidates(
        self,
        ids: list[list[int]],
        bench: np.ndarray,
        texts: list[str] | None = None,
        item_quantities: list[Counter[str]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows the full model must see (by token ids), and each row's best first-pass cosine.

        The table is fitted so that a text's averaged token vectors approximate its sentence vector,
        so a row's static vector is compared with the items' exact (full-model) vectors. With
        ``texts`` and the items' quantities, the quantity gates of ``dq.embed.search.route`` apply.
        """
        vecs, coverage = self.table().encode(ids)
        sims, idx = top_cosines(vecs, bench, min(self.options.top_k, bench.shape[0]))
        tier = self.floor() < self.options.threshold
        keep = search.route(sims, idx, coverage, texts, item_quantities, self.options, tier)
        return np.flatnonzero(keep), sims[:, 0]

    def find(self, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> pl.DataFrame:
        names = list(benchmarks)
        items = [vector.canonical_problem(benchmarks[n]["question"]).to_list() for n in names]
        if not names or rows.height == 0:
            return pl.DataFrame(schema=MATCH_SCHEMA)
        bench = np.vstack([self._bench_vectors(n, t) for n, t in zip(names, items, strict=True)])
        owner = np.repeat(np.arange(len(names)), [len(t) for t in items])
        local = np.concatenate([np.arange(len(t)) for t in items])
        quantities = (
            [verify.quantities(t) for group in items for t in group] if self.table() is not None else None
        )
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
                cand, first = self.candidates(ids, bench, batch, quantities)
            self.sent += int(cand.size)
            pairs = self._scored(batch, ids, cand, first, bench, quantities)
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
        quantities: list[Counter[str]] | None = None,
    ) -> list[tuple[int, int, float, float]]:
        """(doc, stacked item, first-pass cosine, full cosine) for every pair at or above threshold."""
        if cand.size == 0:
            return []
        if ids is None:
            vecs = self.encoder().encode([batch[i] for i in cand])
        else:
            if self.bf16():
                cand = cand[
                    self._near_in_bf16([ids[i] for i in cand], [batch[i] for i in cand], bench, quantities)
                ]
                self.rescored += int(cand.size)
            vecs = self.encoder().encode_ids([ids[i] for i in cand])
        sims, idx = top_cosines(vecs, bench, min(self.options.top_k, bench.shape[0]))
        out = []
        for r, c in zip(*np.nonzero(sims >= self.floor()), strict=True):
            doc = int(cand[r])
            out.append((doc, int(idx[r, c]), float(first[doc]), float(sims[r, c])))
        return out

    def bf16(self) -> bool:
        """Whether the bf16 routing pass runs (``bf16_pass``; CPU and model folders only)."""
        mode = self.options.bf16_pass
        encoder = self.encoder()
        if mode == "off" or isinstance(encoder.source, str) or encoder.device != "cpu":
            return False
        from dq.embed import attention
        from dq.embed.minilm import bf16_native

        # measured only with dq's SDPA attention: without transformers' registries, fp32 alone
        return mode == "on" or (bf16_native() and attention.register() is not None)

    def _near_in_bf16(
        self, ids: list[list[int]], texts: list[str], bench: np.ndarray, quantities: list[Counter[str]] | None
    ) -> np.ndarray:
        """Rows (bool) whose bf16 cosines, less ``bf16_margin``, could still be reported in fp32."""
        rough = self.encoder().encode_bf16(ids)
        # more neighbours than top_k: an item outside bf16's top k may be inside fp32's
        sims, idx = top_cosines(rough, bench, min(self.options.top_k + 8, bench.shape[0]))
        margin, o = self.options.bf16_margin, self.options
        floors = (o.threshold - margin, self.floor() - margin)
        return search.needs_fp32(sims, idx, texts, quantities, *floors, o.verified_min_quantities)

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
        out, memo = [], {}  # rows sharing a problem and an answer share a verdict: verified once
        for r in expanded.iter_rows(named=True):
            b = names.index(r["benchmark"])
            train_answer = None if answers is None else answers[int(r["pos"])]
            key = (r["doc"], b, r["item"], train_answer)
            if key not in memo:
                item_answer = _bench_answer(benchmarks[r["benchmark"]], r["item"])
                memo[key] = self.verify(batch[r["doc"]], items[b][r["item"]], train_answer, item_answer)
            kind, evidence = memo[key][0], dict(memo[key][1])
            if r["score"] < self.options.threshold and not evidence["verified_tier"]:
                continue  # below the threshold only a verified rewrite is a match
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
        if not out:
            return pl.DataFrame(schema=MATCH_SCHEMA)
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
        # the verified tier: every quantity of the item, no other, and no disagreeing answer
        same = search.same_quantities(tq, bq, self.options.verified_min_quantities) and agrees is not False
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
            "verified_tier": same,
        }
        return kind, evidence


def _bench_answer(bench: pl.DataFrame, item: int) -> str | None:
    """The item's answer when the benchmark frame carries one (``answer`` column)."""
    if "answer" not in bench.columns:
        return None
    value = bench["answer"][item]
    return None if value is None else str(value)
