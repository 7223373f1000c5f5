"""Token stage: every rendered row through the real chat template, counted and priced."""

from __future__ import annotations

from typing import Any

import polars as pl

from dq.api.run import RunState, Stage, StageInputMissing

TOKENS_FILE = "rendered/tokens.json"


class TokensStage(Stage):
    """Count the real tokens of train and val (4 renders a row), write rendered/tokens.json with cost.

    The renderer is ``[render] renderer`` (default the study's Qwen3 thinking-off contract) with
    ``[render] tokenizer`` (default ``model_name``; Qwen3 ids are built offline). A row whose prompt
    render is not a prefix of its full render stops the run, naming the row.
    """

    name = "dq.tokens"
    needs = ("train", "val")
    provides = ("token_stats",)
    #: The files this stage writes (``dq render`` rewrites exactly these).
    writes = (TOKENS_FILE,)

    def run(self, state: RunState) -> None:
        from dq.tokens.report import token_report

        spec = state.rule_set.render
        splits = {side: state.require(side) for side in ("train", "val")}
        renderer_class = state.plan.renderer_class
        if renderer_class is None:
            raise StageInputMissing("pipeline: dq.tokens needs a [render] renderer, and none is bound")
        renderer = renderer_class(tokenizer=spec.tokenizer or spec.model_name)
        total = sum(f.height for f in splits.values())
        progress = state.rows_progress("tokens", total)
        done = 0

        def advance(rows: int) -> None:
            nonlocal done
            done += rows
            progress.update(done)

        counted = {
            side: count_side(renderer, state, f, spec.system_prompt, side, advance)
            for side, f in splits.items()
        }
        progress.close(total)
        state.token_stats = token_report(spec, renderer, counted)
        work = state.require("work_dir")
        from dq.data.jsonl import write_json

        state.outputs[TOKENS_FILE] = write_json(state.token_stats, work / TOKENS_FILE)
        cost = state.token_stats["cost"]
        state.log(
            f"tokens: {total} rows, train {state.token_stats['train'].get('full_tokens_with_system', 0)} "
            f"tokens; {cost['train_tokens']} training tokens, ${cost['total_dollars']:.2f} at "
            f"${cost['price_per_million_tokens']}/M"
        )


def count_side(
    renderer: Any, state: RunState, frame: pl.DataFrame, system_prompt: str, side: str, advance: Any
) -> Any:
    """Count one split (a streamed run's a batch at a time); a render mismatch becomes one line
    naming the split, row and row_id."""
    from dq.errors import DqError
    from dq.tokens.count import count_split
    from dq.tokens.stats import concat_tokens

    # In memory the split is counted whole (count_split pipelines its own chunks); a streamed run
    # hands it over in full_rows' batches, the texts read back from disk.
    batches = state.full_rows(frame) if state.row_store is not None else [frame]
    counted, offset = [], 0
    try:
        for batch in batches:
            counted.append(
                count_split(renderer, system_prompt, batch["problem"], batch["generated_solution"], advance)
            )
            offset += batch.height
    except Exception as exc:
        row = getattr(exc, "row", None)
        if not isinstance(row, int):
            raise
        row += offset
        row_id = frame["row_id"][row] if row < frame.height else "?"
        raise DqError(f"render: {side} row {row} (row_id {row_id}): {exc}") from exc
    return concat_tokens(counted)
