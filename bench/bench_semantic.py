"""dq.semantic: speed of the naive full-model pass vs the fast path, and the threshold curve.

    python bench/bench_semantic.py speed [--rows 2000] [--threads 2] [--modes naive,onnx,fast]
        [--full-rows N] [--first-pass X]   # naive/onnx on the first N rows only; fast at first_pass X
    python bench/bench_semantic.py curve [--data ../shared/data]

speed: N OpenMath-shaped rows (``dq.testing.corpus.openmath_shaped``) against GSM8K test + MATH
test + MATH-500; each mode in its own process, one run: rows/s (wall and per CPU-second: the
machine is shared), peak RSS, rows sent to the full model, and the fast path's recall of the
naive pass's (row, item) pairs. Modes: naive = torch on every distinct problem; onnx = ONNX
Runtime on every distinct problem; fast = the static first pass, then the bf16 pass where the CPU
computes bf16 natively, then fp32 (ONNX Runtime) on the rows near a decision; fast-fp32 = the
same without the bf16 pass. Benchmark
embeddings are computed (and cached) before the clock starts; torch and ONNX Runtime use
``--threads`` threads. curve: full-model cosine
of GSM8K-test rewrites (the shipped fixture's hand-written ones and rule-based template paraphrases
of every item) and of clean rows (the train rows of ``python -m dq.embed.distill``'s corpus) to
their nearest item; recall on the right item and clean rows flagged (kind not template_sibling)
per threshold, and the fast path's recall relative to the full model.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.75, 0.8, 0.85, 0.9)


def benchmarks(data: Path) -> dict[str, pl.DataFrame]:
    spec = {
        "gsm8k": ("gsm8k/test", "question"),
        "math": ("math/test", "problem"),
        "math500": ("math500/test", "problem"),
    }
    return {
        n: pl.read_ndjson(data / f"{p}.jsonl")
        .select(pl.col(f).alias("question"))
        .with_row_index("benchmark_index")
        for n, (p, f) in spec.items()
    }


def seed_cache(data: Path) -> None:
    """Benchmark embeddings from the distillation corpus (same model) into the embedding cache."""
    from dq.embed.encode import cache_dir, save_atomic, texts_key
    from dq.embed.minilm import SentenceEncoder
    from dq.text.normalize import canonical_problem

    corpus = cache_dir() / "distill_texts.json"
    if not corpus.is_file():
        return
    row = {t: i for i, t in enumerate(json.loads(corpus.read_text()))}
    vecs = np.load(cache_dir() / "distill_sentences.npy")
    fingerprint = SentenceEncoder().fingerprint
    for frame in benchmarks(data).values():
        texts = [canonical_problem(q) for q in frame["question"]]
        if all(t in row for t in texts):
            path = cache_dir() / fingerprint / f"{texts_key(fingerprint, texts)}.npy"
            if not path.is_file():
                save_atomic(path, vecs[[row[t] for t in texts]])


MODES = {
    "naive": {"fast": False, "engine": "torch"},
    "onnx": {"fast": False, "engine": "onnx"},
    "fast": {"fast": True, "engine": "auto"},
    "fast-fp32": {"fast": True, "engine": "auto", "bf16_pass": "off"},
}


def run_mode(
    mode: str, rows: int, data: Path, threads: int, head: int, first_pass: float | None
) -> dict[str, object]:
    import torch

    from dq.contamination.semantic import SemanticCheck
    from dq.testing.corpus import openmath_shaped
    from dq.text import vector

    torch.set_num_threads(threads)
    corpus = openmath_shaped(rows, data, seed=5).select("problem").with_row_index("pos")
    distinct_all = vector.canonical_problem(corpus["problem"]).n_unique()
    if 0 < head < rows:  # the same corpus, its first rows only (a naive pass over 1M takes hours)
        corpus = corpus.head(head)
    options = dict(MODES[mode])
    if first_pass is not None and options["fast"]:
        options["first_pass"] = first_pass
    check = SemanticCheck(SemanticCheck.Options.model_validate(options))
    bench = benchmarks(data)
    check.find(corpus.head(1), bench)  # loads the model and the cached benchmark embeddings
    check.sent = 0
    cpu, start = time.process_time(), time.perf_counter()
    found = check.find(corpus, bench)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    distinct = vector.canonical_problem(corpus["problem"]).n_unique()
    return {
        "rows": corpus.height,
        "distinct": distinct,
        "distinct_all": distinct_all,
        "sent": check.sent,
        "fp32": check.rescored if options["fast"] and check.bf16() else check.sent,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "pairs": sorted(
            f"{p}:{b}:{i}" for p, b, i in found.select("pos", "benchmark", "benchmark_index").iter_rows()
        ),
    }


def speed(
    rows: int, data: Path, threads: int, modes: list[str], full_rows: int, first_pass: float | None
) -> None:
    """Each mode in its own process; full-model modes on the first ``full_rows`` rows when given."""
    print(
        f"{rows:,} OpenMath-shaped rows, {threads} threads; recall: share of the naive pass's (row, item) "
        f"pairs{f' on the first {full_rows:,} rows' if full_rows else ''}"
    )
    print(
        "| mode | rows | distinct | sent to model | of them fp32 | seconds | rows/s | rows per CPU-s | peak RSS "
        "| pairs | recall |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    reference: set[str] | None = None
    projected = []
    for mode in modes:
        head = full_rows if mode in ("naive", "onnx") else 0
        cmd = [sys.executable, __file__, "_mode", mode, "--rows", str(rows), "--data", str(data)]
        cmd += ["--threads", str(threads), "--full-rows", str(head)]
        cmd += [] if first_pass is None else ["--first-pass", str(first_pass)]
        out = json.loads(
            subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
        )
        pairs = set(out["pairs"])
        if full_rows and mode.startswith("fast"):  # compared on the rows the naive pass saw
            pairs = {p for p in pairs if int(p.split(":")[0]) < full_rows}
        reference = pairs if mode == "naive" else reference
        if out["rows"] < rows:  # model-bound: time grows with the distinct problems embedded
            per_distinct = out["seconds"] / out["distinct"]
            projected.append(f"{mode} {rows / (per_distinct * out['distinct_all']):,.0f} rows/s")
        recall = (
            "n/a" if reference is None else f"{len(pairs & reference) / max(len(reference), 1) * 100:.1f} %"
        )
        print(
            f"| {mode} | {out['rows']:,} | {out['distinct']:,} | {out['sent']:,} | {out['fp32']:,} "
            f"| {out['seconds']:.1f} "
            f"| {out['rows'] / out['seconds']:,.0f} | {out['rows'] / out['cpu_seconds']:,.0f} "
            f"| {out['peak_rss_gib']:.2f} GiB | {len(pairs)} | {recall} |",
            flush=True,
        )
    if projected:
        print(
            f"projected to all {rows:,} rows (seconds per distinct problem x distinct problems): "
            + ", ".join(projected)
        )


def curve(data: Path) -> None:
    import torch

    from dq.contamination.perturb import template_paraphrase
    from dq.contamination.semantic import SemanticCheck, top_cosines
    from dq.embed.encode import cache_dir, cached_encode
    from dq.text.normalize import canonical_problem

    torch.set_num_threads(2)
    check = SemanticCheck(SemanticCheck.Options.model_validate({}))
    gsm = pl.read_ndjson(data / "gsm8k/test.jsonl")
    items = [canonical_problem(q) for q in gsm["question"]]
    bench = cached_encode(check.encoder(), items)
    fx = pl.read_ndjson(ROOT / "tests/data/semantic_fixture.jsonl").filter(pl.col("label") == "rewrite")
    rng = random.Random(3)
    sets = {
        "fixture rewrites": (fx["problem"].to_list(), fx["benchmark_index"].to_list()),
        "template paraphrases": (
            [template_paraphrase(q, rng) or q for q in gsm["question"]],
            list(range(len(items))),
        ),
    }
    texts = json.loads((cache_dir() / "distill_texts.json").read_text())
    vecs = np.load(cache_dir() / "distill_sentences.npy")
    splits = {"gsm8k train": ("gsm8k/train", "question"), "math train": ("math/train", "problem")}
    allb = benchmarks(data)
    ball = np.vstack(
        [cached_encode(check.encoder(), [canonical_problem(q) for q in b["question"]]) for b in allb.values()]
    )
    print("| set | rows | " + " | ".join(f"cos >= {t}" for t in THRESHOLDS) + " | fast path kept (at 0.85) |")
    print("|---|---|" + "---|" * (len(THRESHOLDS) + 1))
    for name, (rows, right) in sets.items():
        canon = [canonical_problem(r) for r in rows]
        full = check.encoder().encode(canon)
        sims, idx = top_cosines(full, bench, 1)
        cand, _ = check.candidates(check.encoder().token_ids(canon), ball)
        sent = np.zeros(len(canon), dtype=bool)
        sent[cand] = True
        hit = idx[:, 0] == np.array(right)
        cells = [f"{np.mean(hit & (sims[:, 0] >= t)) * 100:.1f} %" for t in THRESHOLDS]
        full_hits = hit & (sims[:, 0] >= 0.85)
        kept = np.mean(sent[full_hits]) * 100 if full_hits.any() else 100.0
        print(f"| {name} | {len(rows)} | " + " | ".join(cells) + f" | {kept:.1f} % |")
    btexts = [canonical_problem(q) for b in allb.values() for q in b["question"]]
    for name, (path, field) in splits.items():
        mine = {canonical_problem(t) for t in pl.read_ndjson(data / f"{path}.jsonl")[field]} - set(btexts)
        rows_i = [i for i, t in enumerate(texts) if t in mine]
        sims, idx = top_cosines(vecs[rows_i], ball, 1)
        cells = []
        for t in THRESHOLDS:
            flagged = sum(
                s >= t and check.verify(texts[r], btexts[j], None, None)[0] != "template_sibling"
                for r, s, j in zip(rows_i, sims[:, 0], idx[:, 0], strict=True)
            )
            raw = int((sims[:, 0] >= t).sum())
            cells.append(f"{flagged / len(rows_i) * 100:.2f} % ({raw / len(rows_i) * 100:.1f} %)")
        print(f"| clean {name} | {len(rows_i)} | " + " | ".join(cells) + " | |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["speed", "curve", "_mode"])
    ap.add_argument("mode", nargs="?")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="naive,onnx,fast")
    ap.add_argument("--first-pass", type=float, help="fast mode: this first_pass, not the default")
    ap.add_argument(
        "--full-rows", type=int, default=0, help="naive and onnx modes: the first N rows only (0: all)"
    )
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    seed_cache(args.data)
    if args.what == "_mode":
        print(
            json.dumps(
                run_mode(args.mode, args.rows, args.data, args.threads, args.full_rows, args.first_pass)
            )
        )
    elif args.what == "speed":
        speed(args.rows, args.data, args.threads, args.modes.split(","), args.full_rows, args.first_pass)
    else:
        curve(args.data)


if __name__ == "__main__":
    main()
