"""rendered/tokens.json: the render-sanity report of the study (§4.4), the distribution, and the cost."""

from __future__ import annotations

from typing import Any

from dq.tokens.cost import CostInputs, run_cost
from dq.tokens.stats import SplitTokens, split_report

#: The study's hint, kept verbatim so the report reads the same as the seed's.
DECISION_HINT = "keep_system_prompt_if_overhead_is_small_and_the boxed-answer/style instruction is still needed at eval time"


def token_report(spec: Any, renderer: Any, counted: dict[str, SplitTokens]) -> dict[str, Any]:
    """The whole token report from the per-split counts; ``spec`` is the rule set's ``[render]``."""
    splits = {side: split_report(tokens, spec.max_length) for side, tokens in counted.items()}
    cost = spec.cost
    inputs = CostInputs(
        epochs=cost.epochs,
        validation_passes=cost.validation_passes,
        price_per_million=cost.price_per_million,
        eval_examples=cost.eval_examples,
        eval_max_new_tokens=cost.eval_max_new_tokens,
    )
    return {
        "model_name": spec.model_name,
        "renderer": type(renderer).name,
        "tokenizer": getattr(renderer, "tokenizer_name", spec.tokenizer or spec.model_name),
        "system_prompt": spec.system_prompt,
        "decision_hint": DECISION_HINT,
        **splits,
        "cost": run_cost(splits.get("train", {}), splits.get("val", {}), inputs),
    }
