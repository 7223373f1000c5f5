"""Large token reports count in a pool of tiktoken processes: same counts as the ids' lengths."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest

from dq.render import fast_count
from dq.render.renderers import Qwen3ThinkingOffRenderer

pytest.importorskip("tiktoken", reason="tiktoken (the dq[render] extra) is not installed")

TRICKY = Path(__file__).parent / "data" / "render_tricky_rows.jsonl"


@pytest.fixture(scope="module")
def pool() -> fast_count.CountPool:
    started = fast_count.pool()
    assert started is not None and started.wait(timeout=120), "the count pool did not start"
    return started


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


def test_pool_counts_equal_id_lengths_on_every_real_row(
    shared_data: Path, pool: fast_count.CountPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast_count, "LOAD_AFTER_TEXTS", 0)
    convs = real_conversations(shared_data)
    renderer = Qwen3ThinkingOffRenderer()
    before = pool.counted
    counts = renderer.token_counts(convs)
    assert pool.counted - before > 0.99 * len(convs)  # the texts really went through the pool
    rendered = renderer.render_batch(convs)
    assert counts.full_lens == [len(ids) for ids in rendered.full_ids]
    assert counts.prompt_lens == rendered.prompt_lens
    for system, rows in (("Solve step by step.", convs[::2]), (None, convs[1::2])):
        columns = renderer.token_counts_columns(
            system, [c[-2]["content"] for c in rows], [c[-1]["content"] for c in rows]
        )
        assert columns == renderer.token_counts(rows)


def test_tricky_rows_count_the_same_through_the_pool(
    pool: fast_count.CountPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whitespace edges, NFC, literal <|im_end|> (kept out of the pool: markup needs the Rust tokenizer)."""
    monkeypatch.setattr(fast_count, "LOAD_AFTER_TEXTS", 0)
    renderer = Qwen3ThinkingOffRenderer()
    for row in map(json.loads, TRICKY.read_text(encoding="utf-8").splitlines()):
        messages = row["messages"]
        try:
            want = renderer.render_batch([messages])
        except ValueError:
            continue  # rows that break the prefix contract: test_render_tokenizer covers them
        assert renderer.token_counts([messages]).full_lens == [len(want.full_ids[0])], row["case"]


def test_a_dead_worker_turns_the_pool_off_and_counts_stay_right() -> None:
    broken = fast_count.CountPool(2)
    assert broken.wait(timeout=120)
    broken.workers[1]._proc.kill()
    broken.workers[1]._proc.join()
    assert broken.count(["one two", "three", "four five six"]) is None
    assert broken.state == "failed" and not broken.ready()
    broken.close()


def test_two_chunks_in_flight_report_the_first_bad_row_in_split_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """count_split counts two chunks at once for the Qwen3 renderer; results stay in row order."""
    from dq.api.render import RenderMismatch
    from dq.tokens import count

    monkeypatch.setattr(count, "CHUNK_ROWS", 3)
    renderer = Qwen3ThinkingOffRenderer()
    prompts = [f"What is {i} + {i}?" for i in range(20)]
    answers = [f"It is \\boxed{{{2 * i}}}." for i in range(20)]
    counted = count.count_split(renderer, "Be brief.", prompts, answers)
    one_by_one = [
        renderer.token_counts_columns("Be brief.", [p], [a]).full_lens[0]
        for p, a in zip(prompts, answers, strict=True)
    ]
    assert list(counted.full_with_system) == one_by_one
    for bad in (7, 15):  # reasoning in the answer: the template's think block is not the prompt's
        answers[bad] = "<think>\nadd\n</think>\n\n\\boxed{0}"
    with pytest.raises(RenderMismatch) as exc:
        count.count_split(renderer, "Be brief.", prompts, answers)
    assert exc.value.row == 7


class _ReadyOnce:
    """A child's pipe holding one "ready": ``poll`` holds a caller until a second one arrives (or
    2 s pass), so two threads polling at once both see the message, as they could in a run."""

    def __init__(self) -> None:
        import threading

        self.both = threading.Barrier(2, timeout=2)
        self.messages = ["ready"]

    def poll(self, timeout: float = 0.0) -> bool:
        import threading

        waiting = bool(self.messages)  # seen before either caller reads it
        with contextlib.suppress(threading.BrokenBarrierError):
            self.both.wait()
        return waiting

    def recv(self) -> str:
        if self.messages:
            return self.messages.pop()
        time.sleep(3)  # a real pipe would wait forever here
        raise EOFError


def test_threads_polling_a_loading_pool_read_its_ready_once() -> None:
    """Two counting threads ask a loading pool whether it is ready: only one may read a child's
    "ready" (both used to, and the second then waited on the pipe forever)."""
    import threading

    worker = fast_count.CountWorker.__new__(fast_count.CountWorker)
    worker._conn, worker.state = _ReadyOnce(), "loading"
    pool = fast_count.CountPool.__new__(fast_count.CountPool)
    pool.workers, pool.lock, pool.state, pool.counted = [worker], threading.Lock(), "loading", 0
    threads = [threading.Thread(target=pool.ready) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert pool.state == "ready" and pool.ready()
