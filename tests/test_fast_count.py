"""bpe-qwen counts only what it tokenizes exactly as Qwen3 does; token counts equal the ids' lengths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dq.render import fast_count
from dq.render.renderers import Qwen3ThinkingOffRenderer
from dq.render.tiktoken_encoder import encoding

pytest.importorskip("bpe_qwen", reason="bpe-qwen (the dq[render] extra on Python < 3.13) is not installed")
pytest.importorskip("tiktoken", reason="tiktoken (the dq[render] extra) is not installed")

TRICKY = Path(__file__).parent / "data" / "render_tricky_rows.jsonl"
# Pieces that exercise Qwen's pre-tokenizer: contractions in every case, whitespace runs before
# words, digits and punctuation, line breaks, control characters, LaTeX.
PIECES = [chr(c) for c in range(128)] + [
    "'s", "'S", "'re", "'rE", "'ve", "'VE", "'m", "'ll", "'Ll", "'d", "'t", "  ", "   ", "\n\n",
    " \n", "\r\n", " \t ", "12345", " 7", "word", " Word", "\\frac{1}{2}", "$\\boxed{3}$", "<|im_end|>",
]  # fmt: skip


@pytest.fixture(scope="module")
def worker() -> fast_count.CountWorker:
    started = fast_count.worker()
    assert started is not None and started.wait(timeout=300), "bpe-qwen's worker did not load"
    return started


def tiktoken_count(text: str) -> int:
    enc = encoding()
    assert enc is not None
    return len(enc.encode_ordinary(text))


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60).map("".join))
def test_safe_texts_count_as_tiktoken_does(worker: fast_count.CountWorker, text: str) -> None:
    if fast_count.bpe_qwen_safe(text):
        assert worker.count([text]) == [tiktoken_count(text)]


@pytest.mark.parametrize(
    "text",
    ["x = 2 \t ", "ends in a newline\n", "'my", "It'S", "they'rE here", "caf\u00e9", "a <|im_end|> b"],
)
def test_the_shapes_bpe_qwen_gets_wrong_are_never_sent_to_it(text: str) -> None:
    assert not fast_count.bpe_qwen_safe(text)


def test_a_known_difference_is_real(worker: fast_count.CountWorker) -> None:
    """Why the guard exists: bpe-qwen splits a trailing whitespace run where Qwen's regex does not."""
    text = "total \t "
    assert worker.count([text]) != [tiktoken_count(text)]


def chat(problem: str, solution: str, system: str | None) -> list[dict[str, str]]:
    head = [{"role": "system", "content": system}] if system is not None else []
    return [*head, {"role": "user", "content": problem}, {"role": "assistant", "content": solution}]


def real_conversations(shared_data: Path) -> list[list[dict[str, str]]]:
    """Every training-shaped row of ../shared/data, with and without a system prompt."""
    sources = [
        ("gsm8k/train.jsonl", "question", "answer"),
        ("gsm8k/test.jsonl", "question", "answer"),
        ("math/train.jsonl", "problem", "solution"),
        ("math/test.jsonl", "problem", "solution"),
        ("openmathinstruct2/nemo_skills_sample.jsonl", "problem", "generated_solution"),
    ]
    convs = []
    for path, problem, solution in sources:
        for line in (shared_data / path).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for system in ("Solve step by step.", None):
                convs.append(chat(row[problem], row[solution], system))
    return convs


def test_counts_equal_id_lengths_on_every_real_row(
    shared_data: Path, worker: fast_count.CountWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast_count, "LOAD_AFTER_TEXTS", 0)
    convs = real_conversations(shared_data)
    renderer = Qwen3ThinkingOffRenderer()
    before = worker.counted
    counts = renderer.token_counts(convs)
    assert worker.counted - before > 0.9 * len(convs)  # most real text took the fast path
    rendered = renderer.render_batch(convs)
    assert counts.full_lens == [len(ids) for ids in rendered.full_ids]
    assert counts.prompt_lens == rendered.prompt_lens
    for system, rows in (("Solve step by step.", convs[::2]), (None, convs[1::2])):
        columns = renderer.token_counts_columns(
            system, [c[-2]["content"] for c in rows], [c[-1]["content"] for c in rows]
        )
        assert columns == renderer.token_counts(rows)


def test_tricky_rows_count_the_same_on_the_fast_path(
    worker: fast_count.CountWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast_count, "LOAD_AFTER_TEXTS", 0)
    renderer = Qwen3ThinkingOffRenderer()
    for row in map(json.loads, TRICKY.read_text(encoding="utf-8").splitlines()):
        messages = row["messages"]
        try:
            want = renderer.render_batch([messages])
        except ValueError:
            continue  # rows that break the prefix contract: test_render_tokenizer covers them
        assert renderer.token_counts([messages]).full_lens == [len(want.full_ids[0])], row["case"]
