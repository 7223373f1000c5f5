"""Render throughput: dq's token report and the fast Qwen3 path vs apply_chat_template.

    python bench/bench_render.py                    # 20,000 rows (fast) / 2,000 rows (template)
    python bench/bench_render.py --rows 1000000     # the full measure

Rows are OpenMath-shaped (``dq.testing.corpus.openmath_shaped`` over ../shared/data GSM8K/MATH
train text) with the study's system prompt; every solution gets a row number so that no two rows
are the same text (real OpenMathInstruct-2 solutions are all distinct, and the renderer encodes
each distinct text of a batch once). Measured: the ``dq.tokens`` stage's counting (four renders a
row: full and prompt, with and without the system prompt), ``render_batch`` (ids kept per chunk,
then dropped) and the template path. Prints rows/s, MB/s of row text, tokens/s and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEM = "You are a careful math solver. Solve the problem step by step. Put the final answer in \\boxed{}."


def sample_rows(shared: Path, rows: int) -> list[list[dict[str, str]]]:
    from dq.testing.corpus import openmath_shaped

    frame = openmath_shaped(rows, shared / "data", seed=0)
    return [
        [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": problem},
            {"role": "assistant", "content": f"{solution}\n\nRow {i}."},
        ]
        for i, (problem, solution) in enumerate(
            zip(frame["problem"], frame["generated_solution"], strict=True)
        )
    ]


def measure(label: str, render: object, convs: list, rows: int, chunk: int) -> None:
    """Render ``rows`` rows (cycling ``convs``) in chunks; print the figures."""
    nbytes = sum(len(m["content"].encode()) for c in convs for m in c)
    tokens, start = 0, time.perf_counter()
    done = 0
    while done < rows:
        n = min(chunk, rows - done)
        batch = [convs[(done + k) % len(convs)] for k in range(n)]
        out = render(batch)  # type: ignore[operator]
        tokens += sum(out.full_lens) if hasattr(out, "full_lens") else sum(map(len, out.full_ids))
        done += n
    secs = time.perf_counter() - start
    mb = nbytes / len(convs) * rows / 1e6
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label:<34} rows {rows:>9,}  {secs:8.2f} s  {rows / secs:>10,.0f} rows/s  {mb / secs:7.2f} MB/s"
        f"  {tokens / secs:>11,.0f} tok/s  peak RSS {rss:,.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--template-rows", type=int, default=2_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--tokens-only", action="store_true", help="only the dq.tokens measures")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from dq.render import fast_count
    from dq.render.renderers import ChatTemplateRenderer, Qwen3ThinkingOffRenderer
    from dq.tokens.count import count_split

    convs = sample_rows(args.shared, args.rows)
    fast, before, slow = (
        Qwen3ThinkingOffRenderer(),
        Qwen3ThinkingOffRenderer(),
        ChatTemplateRenderer("Qwen/Qwen3-8B"),
    )
    for renderer in (fast, before, slow):
        renderer.render_batch(convs[:2])

    def stage(renderer: Qwen3ThinkingOffRenderer) -> object:
        def count(batch: list) -> object:  # the dq.tokens stage: one split as columns, 4 renders a row
            prompts, answers = [c[1]["content"] for c in batch], [c[2]["content"] for c in batch]
            counted = count_split(renderer, SYSTEM, prompts, answers)
            return type("Counts", (), {"full_lens": counted.full_with_system})()

        return count

    print(
        f"count pool: up to {fast_count.MAX_WORKERS} processes, after {fast_count.LOAD_AFTER_TEXTS:,} texts"
    )
    measure("dq.tokens (count pool)", stage(fast), convs, args.rows, args.rows)
    threshold, fast_count.LOAD_AFTER_TEXTS = fast_count.LOAD_AFTER_TEXTS, 1 << 62
    measure("dq.tokens, in process (no pool)", stage(before), convs, args.rows, args.rows)
    fast_count.LOAD_AFTER_TEXTS = threshold
    if args.tokens_only:
        return
    measure("fast token_counts", fast.token_counts, convs, args.rows, args.chunk)
    measure("fast render_batch (ids)", fast.render_batch, convs, args.rows, args.chunk)
    per_row = lambda batch: slow.render_batch(batch)  # noqa: E731 - one template call per row below
    measure("template render_batch (1 row/call)", per_row, convs, args.template_rows, 1)
    measure("template render_batch (batched)", slow.render_batch, convs, args.template_rows, args.chunk)


if __name__ == "__main__":
    main()
