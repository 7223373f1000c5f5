"""dq.semantic: int8 ONNX Runtime and bf16 torch against the fp32 export (why int8 is not used, and
why the bf16 pass may route with a 0.02 margin).

    nice -n 10 python bench/semantic_int8.py [--texts 3000] [--longest] [--threads 2] [--data ../shared/data]

The first N distinct canonical problems of ``openmath_shaped(20_000, seed=0)`` are embedded by
the cached fp32 ONNX export and by dynamically quantized copies of it (``quantize_dynamic``:
uint8 weights, int8 weights, int8 per-channel), each in one timed pass (length-bucketed batches of
64, as dq runs them). Printed per variant: seconds, speed-up, the cosine of its vectors to fp32's,
the shift of each text's top-1 cosine to GSM8K test + MATH test, and how many decisions at 0.85
and 0.75 (the threshold and the verified tier's floor) it flips, and the largest cosine shift over
every (text, item) pair. bf16 = ``SentenceEncoder.encode_bf16`` (the model in bf16, batches of
32), the routing pass of ``bf16_pass``, eager with attention in the dtype its timing picks;
bf16-fp32-attn = the same with attention forced to fp32; bf16-compiled = under torch.compile
(``bf16_compile = "on"``; compiled on the first 64 texts outside the clock). ``--longest``: the N
longest problems (up to 256 tokens), where rounding errors accumulate most. ``--variants``: a
comma-separated subset.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def embed(encoder: object, path: Path, ids: list[list[int]], threads: int) -> tuple[np.ndarray, float]:
    from dq.embed import onnx

    session = onnx.session(path, threads)
    start, out = time.perf_counter(), np.zeros((len(ids), 384), dtype=np.float32)
    for which, input_ids, mask in encoder.padded_batches(ids, 64):  # type: ignore[attr-defined]
        out[which] = onnx.run(session, input_ids, mask)
    return out, time.perf_counter() - start


def _fp32_attention(model: Any, length: int = 64, batch: int = 32, repeats: int = 3) -> str:
    from dq.embed import attention

    setattr(model.config, attention.COMPUTE_DTYPE, "float32")
    return "float32"


def bf16_pass(variant: str, ids: list[list[int]]) -> tuple[np.ndarray, float]:
    """``encode_bf16`` as the variant runs it, timed after loading (and compiling) on 64 texts."""
    from dq.embed import attention
    from dq.embed.minilm import SentenceEncoder

    encoder = SentenceEncoder(bf16_compile="on" if variant == "bf16-compiled" else "off")
    timed = attention.choose_compute_dtype
    if variant == "bf16-fp32-attn":
        attention.choose_compute_dtype = _fp32_attention
    try:
        encoder.encode_bf16(ids[:64])
        start = time.perf_counter()
        vecs = encoder.encode_bf16(ids)
        seconds = time.perf_counter() - start
    finally:
        attention.choose_compute_dtype = timed
    print(f"  ({variant}: attention in {getattr(encoder._torch_model().config, attention.COMPUTE_DTYPE)})")
    return vecs, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--longest", action="store_true", help="the longest problems, not the first")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--variants", default="uint8,int8,int8-chan,bf16,bf16-fp32-attn,bf16-compiled")
    args = parser.parse_args()
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from dq.embed import onnx
    from dq.embed.encode import cache_dir, cached_encode
    from dq.embed.minilm import SentenceEncoder
    from dq.embed.search import top_cosines
    from dq.testing.corpus import openmath_shaped
    from dq.text import vector

    torch.set_num_threads(args.threads)
    encoder = SentenceEncoder(engine="onnx")
    encoder.token_ids([""])  # loads the model, exporting it to the cache on first use
    fp32 = cache_dir() / encoder.fingerprint / f"model-{onnx.EXPORT_KEY}-mean.onnx"
    items = [
        *vector.canonical_problem(pl.read_ndjson(args.data / "gsm8k/test.jsonl")["question"]).to_list(),
        *vector.canonical_problem(pl.read_ndjson(args.data / "math/test.jsonl")["problem"]).to_list(),
    ]
    bench = cached_encode(encoder, items)
    rows = openmath_shaped(20_000, args.data, seed=0)["problem"]
    texts = vector.canonical_problem(rows).unique(maintain_order=True).to_list()
    ids = encoder.token_ids(texts)
    if args.longest:
        ids = sorted(ids, key=len, reverse=True)
    ids = ids[: args.texts]
    base, base_s = embed(encoder, fp32, ids, args.threads)
    base_top = top_cosines(base, bench, 1)[0][:, 0]
    print(f"{len(ids)} texts, {np.mean([len(i) for i in ids]):.1f} tokens on average; fp32 {base_s:.1f} s")
    print(
        "variant      seconds  speed-up  cos to fp32 (min / mean)  top-1 shift (median / p99 / max)  flips at 0.85  at 0.75"
        "  any pair, max shift"
    )
    every = base @ bench.T
    variants = {
        "uint8": {"weight_type": QuantType.QUInt8},
        "int8": {"weight_type": QuantType.QInt8},
        "int8-chan": {"weight_type": QuantType.QInt8, "per_channel": True},
    }
    chosen = args.variants.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            if name.startswith("bf16"):
                vecs, seconds = bf16_pass(name, ids)
            else:
                options = variants[name]
                path = Path(tmp) / f"{name}.onnx"
                quantize_dynamic(str(fp32), str(path), **options)  # type: ignore[arg-type]
                vecs, seconds = embed(encoder, path, ids, args.threads)
            agree = (vecs * base).sum(1)
            top = top_cosines(vecs, bench, 1)[0][:, 0]
            shift = np.abs(top - base_top)
            flips = [int(((base_top >= t) != (top >= t)).sum()) for t in (0.85, 0.75)]
            counts = [int((base_top >= t).sum()) for t in (0.85, 0.75)]
            print(
                f"{name:12s} {seconds:7.1f}  {base_s / seconds:7.2f}x  {agree.min():.4f} / {agree.mean():.4f}"
                f"             {np.median(shift):.4f} / {np.percentile(shift, 99):.4f} / {shift.max():.4f}"
                f"          {flips[0]} of {counts[0]}    {flips[1]} of {counts[1]}"
                f"    {np.abs(vecs @ bench.T - every).max():.4f}"
            )


if __name__ == "__main__":
    main()
