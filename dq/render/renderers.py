"""Built-in renderers: any chat template (``dq.chat_template``) and Qwen3 thinking-off, fast (``dq.qwen3_thinking_off``).

``dq.qwen3_thinking_off`` never runs the Jinja template for rows of the study's shape (system?,
user, assistant with plain string contents). Added tokens split the text before normalization
and pre-tokenization, so the ids of a render are the ids of its pieces between special tokens,
concatenated: the fixed pieces are encoded once, and each row costs one Rust encode of
``"user\\n" + problem`` and one of ``"\\n\\n" + solution``. Rows the template treats differently
(``</think>`` in the answer, tool markup, other roles) go through the template itself. Tests
check both paths give identical ids on every real row.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, ClassVar

from dq.api.render import (
    Conversation,
    RenderedBatch,
    Renderer,
    RenderMismatch,
    TokenCounts,
    check_prefix,
    first_difference,
)
from dq.render.counting import FastCounting, fill, remap_counts
from dq.render.qwen3_tokenizer import QWEN3_HUB_IDS, chat_template, load_tokenizer

THINK_OFF_GENERATION = "<|im_start|>assistant\n<think>\n\n</think>\n\n"


class ChatTemplateRenderer(Renderer):
    """Any tokenizer's own chat template via apply_chat_template (Hub id or local folder)."""

    name: ClassVar[str] = "dq.chat_template"

    def load_tokenizer(self, name: str) -> Any:
        return load_tokenizer(name)

    def template(self, conversations: Sequence[Conversation], *, generation: bool, tokenize: bool) -> Any:
        """One batched ``apply_chat_template`` call with the contract's fixed arguments."""
        if not conversations:
            return []
        out = self.tokenizer.apply_chat_template(
            [list(c) for c in conversations],
            tokenize=tokenize,
            add_generation_prompt=generation,
            enable_thinking=False,
            **({"return_dict": True} if tokenize else {}),
        )
        return [list(ids) for ids in out["input_ids"]] if tokenize else list(out)

    def render_text(self, messages: Conversation) -> str:
        text: str = self.template([messages], generation=False, tokenize=False)[0]
        return text

    def render_batch(self, conversations: Sequence[Conversation]) -> RenderedBatch:
        full = self.template(conversations, generation=False, tokenize=True)
        prompts = self.template([c[:-1] for c in conversations], generation=True, tokenize=True)
        for row, (p, f) in enumerate(zip(prompts, full, strict=True)):
            check_prefix(row, p, f)
        return RenderedBatch(full, [len(p) for p in prompts])

    def prompt_ids(self, conversations: Sequence[Conversation]) -> list[list[int]]:
        ids: list[list[int]] = self.template(conversations, generation=True, tokenize=True)
        return ids


def plain(message: dict[str, Any], role: str) -> bool:
    """A message the template renders as ``role`` + its string content, nothing else."""
    return (
        message.get("role") == role
        and isinstance(message.get("content"), str)
        and message.get("reasoning_content") is None
        and not message.get("tool_calls")
    )


def fast_prompt_shape(messages: Conversation) -> bool:
    """(system?, user) with string contents, the user turn not a bare tool response."""
    head, user = messages[:-1], messages[-1] if messages else {}
    if len(head) > 1 or (head and not plain(head[0], "system")) or not plain(user, "user"):
        return False
    content = user["content"]
    return not (content.startswith("<tool_response>") and content.endswith("</tool_response>"))


def fast_train_shape(messages: Conversation) -> bool:
    """(system?, user, assistant) the fast path renders exactly like the template."""
    if len(messages) < 2 or not plain(messages[-1], "assistant") or "</think>" in messages[-1]["content"]:
        return False
    return fast_prompt_shape(messages[:-1])


def slow_columns(prompts: Sequence[str], answers: Sequence[str]) -> list[int]:
    """Rows of (system?, user, assistant) string columns that the template renders differently:
    reasoning in the answer, or a user turn that is a bare tool response."""
    slow = {k for k, answer in enumerate(answers) if "</think>" in answer}
    slow.update(
        k
        for k, prompt in enumerate(prompts)
        if prompt.startswith("<tool_response>") and prompt.endswith("</tool_response>")
    )
    return sorted(slow)


def remap(rows: list[int], render: Any, conversations: Sequence[Conversation]) -> Any:
    """``render`` on the rows at ``rows``; a mismatch names the row's position in ``conversations``."""
    try:
        return render([conversations[i] for i in rows])
    except RenderMismatch as exc:
        raise RenderMismatch(rows[exc.row], exc.position, exc.detail) from None


class Qwen3ThinkingOffRenderer(FastCounting, ChatTemplateRenderer):
    """The study's Qwen3 render contract (thinking off), fast: Rust batch encode, no per-row Jinja."""

    name: ClassVar[str] = "dq.qwen3_thinking_off"
    default_tokenizer: ClassVar[str | None] = "Qwen/Qwen3-8B"
    concurrent_counts: ClassVar[bool] = True  # per-thread caches; the count pool is locked

    def __init__(self, tokenizer: str | None = None, **options: Any) -> None:
        super().__init__(tokenizer, **options)
        self._pieces: dict[str, list[int]] | None = None
        self._system_ids: dict[str, list[int]] = {}
        self._last: tuple[list[str], list[Any]] | None = None

    @property
    def fast(self) -> bool:
        """The fast path holds only for Qwen3's own template (a local copy may differ)."""
        return bool(self.tokenizer.chat_template == chat_template())

    def encode(self, texts: list[str]) -> list[Any]:
        """Batch encode, added tokens recognised, none added: tiktoken on Qwen3's own ranks for text
        without markup (same ids, about 5x faster), the Rust tokenizer for the rest."""
        if not texts:
            return []
        out: list[Any] = [None] * len(texts)
        rest = list(range(len(texts)))
        if self.tokenizer_name in QWEN3_HUB_IDS:  # the offline build: tiktoken has the same ranks
            from dq.render import tiktoken_encoder as tk

            plain = [i for i in rest if not tk.markup().search(texts[i])]
            rest = fill(out, rest, plain, tk.encode_plain([texts[i] for i in plain]))
        if rest:
            backend = self.tokenizer.backend_tokenizer
            for i, enc in zip(
                rest,
                backend.encode_batch_fast([texts[i] for i in rest], add_special_tokens=False),
                strict=True,
            ):
                out[i] = enc
        return out

    def pieces(self) -> dict[str, list[int]]:
        """Ids of the fixed pieces of the render."""
        if self._pieces is None:
            enc = [e.ids for e in self.encode(["<|im_start|>", "<|im_end|>\n", THINK_OFF_GENERATION, "\n\n"])]
            self._pieces = {"start": enc[0], "end": enc[1], "generation": enc[2], "nn": enc[3]}
        return self._pieces

    def head_ids(self, messages: Conversation, user_ids: list[int]) -> list[int]:
        """Ids of system and user turns plus the thinking-off generation prompt."""
        p = self.pieces()
        ids: list[int] = []
        if len(messages) > 1:
            system = messages[0]["content"]
            if system not in self._system_ids:
                self._system_ids[system] = self.encode(["system\n" + system])[0].ids
            ids = [*p["start"], *self._system_ids[system], *p["end"]]
        return [*ids, *p["start"], *user_ids, *p["end"], *p["generation"]]

    def fast_text(self, messages: Conversation, generation: bool) -> str:
        """The template's output for a fast-shape conversation, built directly."""
        text = "".join(
            f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n"
            for m in messages
            if m["role"] != "assistant"
        )
        if generation:
            return text + THINK_OFF_GENERATION
        answer = messages[-1]["content"].lstrip("\n")
        return f"{text}{THINK_OFF_GENERATION}{answer}<|im_end|>\n"

    def render_text(self, messages: Conversation) -> str:
        if self.fast and (fast_train_shape(messages) or fast_prompt_shape(messages)):
            return self.fast_text(messages, generation=False)
        return super().render_text(messages)

    def split(self, conversations: Sequence[Conversation], shape: Any) -> tuple[list[int], list[int]]:
        """Row positions for the fast path and for the template."""
        ok = self.fast
        fast = [i for i, c in enumerate(conversations) if ok and shape(c)]
        chosen = set(fast)
        return fast, [i for i in range(len(conversations)) if i not in chosen]

    def render_batch(self, conversations: Sequence[Conversation]) -> RenderedBatch:
        fast, slow = self.split(conversations, fast_train_shape)
        full: list[list[int]] = [[] for _ in conversations]
        lens = [0] * len(conversations)
        p = self.pieces()
        users, answers = self.row_encodings(conversations, fast)
        for i, user, answer in zip(fast, users, answers, strict=True):
            head = self.head_ids(conversations[i][:-1], user.ids)
            tail = answer.ids
            if tail[: len(p["nn"])] != p["nn"]:
                raise RenderMismatch(i, len(head) - len(p["nn"]) + (first_difference(p["nn"], tail) or 0))
            full[i] = [*head[: -len(p["nn"])], *tail, *p["end"]]
            lens[i] = len(head)
        if slow:
            rest = remap(slow, super().render_batch, conversations)
            for k, i in enumerate(slow):
                full[i], lens[i] = rest.full_ids[k], rest.prompt_lens[k]
        return RenderedBatch(full, lens)

    def row_encodings(
        self, conversations: Sequence[Conversation], rows: list[int]
    ) -> tuple[list[Any], list[Any]]:
        """Rust encodings of ``user\\n{problem}`` and ``\\n\\n{solution}`` for ``rows``."""
        texts = [f"user\n{conversations[i][-2]['content']}" for i in rows]
        texts += ["\n\n" + conversations[i][-1]["content"].lstrip("\n") for i in rows]
        enc = self.encode_distinct(texts)
        return enc[: len(rows)], enc[len(rows) :]

    def encode_distinct(self, texts: list[str]) -> list[Any]:
        """Encode each distinct text once; the last batch is kept, since token reports render every
        chunk twice (with and without the system prompt) and the user/answer pieces are the same."""
        if self._last is not None and self._last[0] == texts:
            return self._last[1]
        first: dict[str, int] = {}
        for text in texts:
            first.setdefault(text, len(first))
        encoded = self.encode(list(first))
        out = [encoded[first[text]] for text in texts]
        self._last = (texts, out)
        return out

    def token_counts(self, conversations: Sequence[Conversation]) -> TokenCounts:
        fast, slow = self.split(conversations, fast_train_shape)
        full, prompt = [0] * len(conversations), [0] * len(conversations)
        groups: dict[str | None, list[int]] = {}  # rows by system prompt (None: no system turn)
        for i in fast:
            groups.setdefault(
                conversations[i][0]["content"] if len(conversations[i]) > 2 else None, []
            ).append(i)
        for system, rows in groups.items():
            users = [conversations[i][-2]["content"] for i in rows]
            answers = [conversations[i][-1]["content"] for i in rows]
            counted = remap_counts(rows, partial(self.count_rows, system, users, answers))
            for k, i in enumerate(rows):
                full[i], prompt[i] = counted.full_lens[k], counted.prompt_lens[k]
        if slow:
            rest = remap(slow, super().token_counts, conversations)
            for k, i in enumerate(slow):
                full[i], prompt[i] = rest.full_lens[k], rest.prompt_lens[k]
        return TokenCounts(full, prompt)

    def token_counts_columns(
        self, system: str | None, prompts: Sequence[str], answers: Sequence[str]
    ) -> TokenCounts:
        if not self.fast:
            return super().token_counts_columns(system, prompts, answers)
        slow = slow_columns(prompts, answers)
        if not slow:
            return self.count_rows(system, prompts, answers)
        template = super().token_counts_columns
        counts = remap_counts(
            slow, partial(template, system, [prompts[k] for k in slow], [answers[k] for k in slow])
        )
        chosen = set(slow)
        fast = [k for k in range(len(prompts)) if k not in chosen]
        quick = remap_counts(
            fast, partial(self.count_rows, system, [prompts[k] for k in fast], [answers[k] for k in fast])
        )
        full, prompt = [0] * len(prompts), [0] * len(prompts)
        for rows, got in ((fast, quick), (slow, counts)):
            for k, i in enumerate(rows):
                full[i], prompt[i] = got.full_lens[k], got.prompt_lens[k]
        return TokenCounts(full, prompt)

    def prompt_ids(self, conversations: Sequence[Conversation]) -> list[list[int]]:
        fast, slow = self.split(conversations, fast_prompt_shape)
        out: list[list[int]] = [[] for _ in conversations]
        users = self.encode([f"user\n{conversations[i][-1]['content']}" for i in fast])
        for i, user in zip(fast, users, strict=True):
            out[i] = self.head_ids(conversations[i], user.ids)
        if slow:
            for k, ids in enumerate(super().prompt_ids([conversations[i] for i in slow])):
                out[slow[k]] = ids
        return out
