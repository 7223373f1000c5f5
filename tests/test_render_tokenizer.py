"""The offline Qwen3 tokenizer and the renderers: exact ids, the study's anchors, the golden render."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dq.api.render import RenderMismatch, TokenCounts
from dq.errors import DqError
from dq.render import qwen3_tokenizer as qt
from dq.render.renderers import ChatTemplateRenderer, Qwen3ThinkingOffRenderer, fast_train_shape

SYSTEM = "You are a careful math solver. Solve the problem step by step. Put the final answer in \\boxed{}."
TRICKY = Path(__file__).parent / "data" / "render_tricky_rows.jsonl"
GOLDEN_ROWS = ("d15265ccf80f2ef19132", "25147e6a1a089450a310", "a4651ec4400479e670bd")


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh DQ_CACHE_DIR: the first load below builds the tokenizer from the ranks."""
    path = tmp_path_factory.mktemp("dq-cache")
    old = os.environ.get("DQ_CACHE_DIR")
    os.environ["DQ_CACHE_DIR"] = str(path)
    qt.qwen3_tokenizer.cache_clear()
    yield path
    qt.qwen3_tokenizer.cache_clear()
    if old is None:
        os.environ.pop("DQ_CACHE_DIR", None)
    else:
        os.environ["DQ_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def fast() -> Qwen3ThinkingOffRenderer:
    return Qwen3ThinkingOffRenderer()


@pytest.fixture(scope="module")
def slow() -> ChatTemplateRenderer:
    return ChatTemplateRenderer("Qwen/Qwen3-8B")


def chat(problem: str, solution: str | None = None, system: bool = True) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": SYSTEM}] if system else []
    messages.append({"role": "user", "content": problem})
    if solution is not None:
        messages.append({"role": "assistant", "content": solution})
    return messages


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_build_is_cached_atomically_and_has_qwen3_added_tokens(cache_dir: Path) -> None:
    tok = qt.load_tokenizer("Qwen/Qwen3-8B")
    (built,) = (cache_dir / "tokenizers").iterdir()
    assert re.fullmatch(r"qwen3-[0-9a-f]{16}", built.name) and (built / "tokenizer.json").is_file()
    assert len(tok) == 151669 and tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    expected = {151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>", 151667: "<think>"}
    expected[151668] = "</think>"
    assert {i: tok.convert_ids_to_tokens(i) for i in expected} == expected
    decoder = tok.added_tokens_decoder
    assert [decoder[i].special for i in (151643, 151656, 151657, 151667)] == [True, True, False, False]
    assert tok.encode("<|im_start|>user\n<think>", add_special_tokens=False) == [151644, 872, 198, 151667]
    # A second load in a new process reads the cache; a local folder loads the same tokenizer.
    same = qt.load_tokenizer(str(built))
    text = "Janet’s ducks lay 16 eggs<|im_end|>\n"
    assert same.encode(text, add_special_tokens=False) == tok.encode(text, add_special_tokens=False)


def test_ids_agree_with_tiktoken_on_the_same_ranks() -> None:
    """An independent BPE (tiktoken) over qwen.tiktoken with Qwen2's regex gives the same ids."""
    tiktoken = pytest.importorskip("tiktoken")
    ranks = qt.load_ranks(qt.ranks_file())
    enc = tiktoken.Encoding("qwen", pat_str=qt.PRETOKENIZE_REGEX, mergeable_ranks=ranks, special_tokens={})
    texts = [m["content"] for row in jsonl(TRICKY) for m in row["messages"] if "<" not in m["content"]]
    texts += [
        "  leading\n\n\n  spaces\t\ttabs 12345 3.14159 don't WE'LL",
        "\u00e9\u0065\u0301 \U0001f600 数学 ٣",
    ]
    backend = qt.qwen3_tokenizer().backend_tokenizer
    ours = [e.ids for e in backend.encode_batch(texts, add_special_tokens=False)]
    assert ours == [enc.encode_ordinary(unicodedata.normalize("NFC", t)) for t in texts]


def test_gsm8k_prompt_lengths_match_the_study(shared_data: Path, fast: Qwen3ThinkingOffRenderer) -> None:
    """§5.5: prompt_token_count 104, 96, 143, 99 for GSM8K test items 0, 2, 8, 9."""
    items = jsonl(shared_data / "gsm8k" / "test.jsonl")
    ids = fast.prompt_ids([chat(items[i]["question"]) for i in (0, 2, 8, 9)])
    assert [len(x) for x in ids] == [104, 96, 143, 99]


def test_fast_path_equals_the_template_on_real_rows(
    shared_data: Path, fast: Qwen3ThinkingOffRenderer, slow: ChatTemplateRenderer
) -> None:
    rows = jsonl(shared_data / "openmathinstruct2" / "nemo_skills_sample.jsonl")
    convs = [chat(r["problem"], r["generated_solution"], system=s) for s in (True, False) for r in rows]
    assert all(fast_train_shape(c) for c in convs)
    got, want = fast.render_batch(convs), slow.render_batch(convs)
    assert got == want
    assert fast.token_counts(convs) == TokenCounts([len(x) for x in want.full_ids], want.prompt_lens)
    assert [fast.render_text(c) for c in convs] == [slow.render_text(c) for c in convs]
    n = len(rows)
    assert {got.prompt_lens[i] - got.prompt_lens[n + i] for i in range(n)} == {27}
    assert {len(got.full_ids[i]) - len(got.full_ids[n + i]) for i in range(n)} == {27}
    questions = [chat(q["question"]) for q in jsonl(shared_data / "gsm8k" / "test.jsonl")]
    assert fast.prompt_ids(questions) == slow.prompt_ids(questions)


def test_tricky_rows_fast_equals_template(fast: Qwen3ThinkingOffRenderer, slow: ChatTemplateRenderer) -> None:
    """Whitespace edges, NFC, literal <|im_end|>, empty system; rows the template treats differently
    (reasoning in the answer, a tool response, reasoning_content) fail the prefix check either way."""
    mismatched = []
    for row in jsonl(TRICKY):
        messages = row["messages"]
        assert fast.render_text(messages) == slow.render_text(messages), row["case"]
        assert fast.prompt_ids([messages[:-1]]) == slow.prompt_ids([messages[:-1]]), row["case"]
        try:
            want = slow.render_batch([messages])
        except RenderMismatch as exc:
            with pytest.raises(RenderMismatch) as got:
                fast.render_batch([messages])
            assert (got.value.row, got.value.position) == (exc.row, exc.position)
            mismatched.append(row["case"])
            continue
        assert fast.render_batch([messages]) == want, row["case"]
        assert fast.token_counts([messages]).full_lens == [len(want.full_ids[0])], row["case"]
    assert mismatched == ["think_in_answer", "tool_response_user", "reasoning_content_key"]


def test_render_mismatch_names_the_row_and_position(
    fast: Qwen3ThinkingOffRenderer, slow: ChatTemplateRenderer
) -> None:
    """Reasoning inside the answer: the full render's think block is not the prompt's empty one."""
    convs = [chat("What is 1+1?", "\\boxed{2}"), chat("2+3?", "<think>\nadd\n</think>\n\n\\boxed{5}")]
    position = len(fast.prompt_ids([convs[1][:-1]])[0]) - 3  # after "<think>": "\n\n" vs "\n"
    for call in (fast.render_batch, fast.token_counts, slow.render_batch):
        with pytest.raises(RenderMismatch, match=r"^row 1: .*\(first difference at token \d+\)$") as exc:
            call(convs)
        assert (exc.value.row, exc.value.position) == (1, position)


def test_whitespace_after_the_think_block_keeps_the_prefix(
    fast: Qwen3ThinkingOffRenderer, slow: ChatTemplateRenderer
) -> None:
    """An answer opening with whitespace and a line break pre-tokenizes with the prompt's "\\n\\n"."""
    convs = [chat("Q?", c) for c in (" \nSo \\boxed{4}", "\t\r\nx", "\u3000\ny", "  \n\nz")]
    want = slow.render_batch(convs)
    assert fast.render_batch(convs) == want
    assert fast.token_counts(convs).full_lens == [len(ids) for ids in want.full_ids]


def test_prompt_render_ends_with_the_empty_think_block(fast: Qwen3ThinkingOffRenderer) -> None:
    """MISTAKE-20260504-001: the empty think block belongs to the prompt."""
    tok = fast.tokenizer
    prompt = tok.decode(fast.prompt_ids([chat("What is 2+2?")])[0])
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    full = fast.render_text(chat("What is 2+2?", "\\boxed{4}"))
    assert full == prompt + "\\boxed{4}<|im_end|>\n"


def golden_sections(text: str) -> Iterator[tuple[str, str, str, str, str]]:
    """(row_id, source, expected_answer, problem, solution) of each golden section."""
    pattern = re.compile(
        r"## (\S+) (\S+)\nexpected_answer: ([^\n]*)\n\n### WITH SYSTEM\n<\|im_start\|>system\n.*?<\|im_end\|>\n"
        r"<\|im_start\|>user\n(.*?)<\|im_end\|>\n<\|im_start\|>assistant\n<think>\n\n</think>\n\n(.*?)<\|im_end\|>\n"
        r"\n\n### WITHOUT SYSTEM\n",
        re.S,
    )
    for m in pattern.finditer(text):
        yield m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)


def test_golden_sample_renders_byte_for_byte(shared_seed: Path, fast: Qwen3ThinkingOffRenderer) -> None:
    """render_sanity_sample_renders.txt: its 3 rows are not in ../shared/data, so the rows are read
    back from its WITH SYSTEM sections and the whole file is re-rendered from them."""
    golden = (shared_seed / "render_sanity_sample_renders.txt").read_bytes()
    sections = list(golden_sections(golden.decode("utf-8")))
    assert [s[0] for s in sections] == list(GOLDEN_ROWS)
    out = ""
    for row_id, source, answer, problem, solution in sections:
        out += f"## {row_id} {source}\nexpected_answer: {answer}\n\n"
        out += f"### WITH SYSTEM\n{fast.render_text(chat(problem, solution))}\n\n"
        out += f"### WITHOUT SYSTEM\n{fast.render_text(chat(problem, solution, system=False))}\n\n"
        out += "=" * 100 + "\n\n"
    assert out.encode("utf-8") == golden and len(golden.decode("utf-8")) == 6907


def test_unknown_hub_id_offline_is_one_dq_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import: patch the value
    with pytest.raises(DqError) as exc:
        qt.load_tokenizer("nobody-dq-test/not-a-model")
    assert "nobody-dq-test/not-a-model" in exc.value.message and "\n" not in exc.value.message


def test_plugin_registers_both_renderers() -> None:
    from dq.render.plugin import dq_register_renderers

    seen: list[Any] = []
    dq_register_renderers(register=seen.append)
    assert [(c.name, bool(c.summary())) for c in seen] == [
        ("dq.qwen3_thinking_off", True),
        ("dq.chat_template", True),
    ]
    with pytest.raises(ValueError, match="needs a tokenizer"):
        ChatTemplateRenderer()
