"""Token counts of the Qwen3 thinking-off render without building a single id list per row.

A fast-shape row renders as fixed pieces around two encoded texts, ``"user\\n" + problem`` and
``"\\n\\n" + solution`` (see :mod:`dq.render.renderers`), so its prompt count is the head's length
(system turn and generation prompt, the same for every row with that system prompt) plus the user
text's count, and its full count adds the answer's count and ``<|im_end|>\\n``. Each distinct text
is counted once, by a pool of tiktoken processes in large reports (:mod:`dq.render.fast_count`).
The one case that needs ids is an answer opening with whitespace and a line break, which may merge
with the prompt's closing ``"\\n\\n"``; those rows are encoded and checked as ``render_batch`` does.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from dq.api.render import RenderMismatch, TokenCounts, first_difference

# The prompt ends in "</think>\n\n"; a solution whose leading whitespace holds a line break
# merges with that "\n\n" into one pre-token, so the prompt is no longer a token prefix.
BREAKS_PREFIX = re.compile(r"\s*[\r\n]")


def remap_counts(rows: list[int], compute: Callable[[], TokenCounts]) -> TokenCounts:
    """``compute()`` (counts of ``rows``, in order); a mismatch names the row's position in the batch."""
    try:
        counts = compute()
    except RenderMismatch as exc:
        raise RenderMismatch(rows[exc.row], exc.position, exc.detail) from None
    return counts


#: Distinct prompts whose counts a renderer remembers (about 100 bytes each beside the text).
PROMPT_MEMORY = 4_000_000


def fill(out: list[Any], rest: list[int], chosen: list[int], values: list[Any] | None) -> list[int]:
    """Put ``values`` at positions ``chosen`` of ``out``; the positions of ``rest`` still to do
    (all of them when ``values`` is None: that path did not answer)."""
    if values is None:
        return rest
    for i, value in zip(chosen, values, strict=True):
        out[i] = value
    done = set(chosen)
    return [i for i in rest if i not in done]


class FastCounting:
    """Counting for :class:`~dq.render.renderers.Qwen3ThinkingOffRenderer` (a mixin: it uses the
    renderer's ``encode``, ``pieces``, ``head_ids`` and ``tokenizer_name``)."""

    tokenizer_name: str

    def encode(self, texts: list[str]) -> list[Any]:
        raise NotImplementedError

    def pieces(self) -> dict[str, list[int]]:
        raise NotImplementedError

    def head_ids(self, messages: Any, user_ids: list[int]) -> list[int]:
        raise NotImplementedError

    def count(self, texts: list[str]) -> list[int]:
        """Token counts (added tokens recognised, none added): texts without markup in the count
        pool's children once they are ready, the lengths of :meth:`encode`'s ids for the rest."""
        from dq.render import fast_count
        from dq.render.qwen3_tokenizer import QWEN3_HUB_IDS
        from dq.render.tiktoken_encoder import markup

        self._counted = getattr(self, "_counted", 0) + len(texts)
        out = [0] * len(texts)
        rest = list(range(len(texts)))
        started = self._counted >= fast_count.LOAD_AFTER_TEXTS and self.tokenizer_name in QWEN3_HUB_IDS
        pool = fast_count.pool() if started else None
        if pool is not None and pool.ready():
            plain = [i for i in rest if not ("<" in texts[i] and markup().search(texts[i]))]
            rest = fill(out, rest, plain, pool.count([texts[i] for i in plain]))
        for i, enc in zip(rest, self.encode([texts[i] for i in rest]), strict=True):
            out[i] = len(enc.ids)
        return out

    def kept(self) -> Any:
        """Per-thread memory of the last columns (the token report counts two chunks at once, one
        per thread; a reuse is checked by equality, so a miss only costs time)."""
        local: threading.local = self.__dict__.setdefault("_counting_local", threading.local())
        if not hasattr(local, "columns"):
            local.columns = None
        return local

    def count_distinct(self, texts: list[str]) -> list[int]:
        """:meth:`count` of each distinct text once."""
        first: dict[str, int] = {}
        for text in texts:
            first.setdefault(text, len(first))
        counted = self.count(list(first))
        return [counted[first[text]] for text in texts]

    def count_prompts(self, prompts: Sequence[str]) -> list[int]:
        """Counts of ``"user\\n" + prompt``, remembered across chunks: problems repeat across a
        dataset (OpenMathInstruct-2 has ~23 solutions per problem), solutions do not."""
        memory: dict[str, int] = self.__dict__.setdefault("_prompt_counts", {})
        missing = list(dict.fromkeys(p for p in prompts if p not in memory))
        counted = dict(zip(missing, self.count([f"user\n{p}" for p in missing]), strict=True))
        if len(memory) < PROMPT_MEMORY:  # never cleared, so a concurrent reader never misses
            memory.update(counted)
        return [counted[p] if p in counted else memory[p] for p in prompts]

    def count_rows(self, system: str | None, prompts: Sequence[str], answers: Sequence[str]) -> TokenCounts:
        """Counts of fast-shape rows sharing one system prompt (``None``: no system turn)."""
        head_messages = [] if system is None else [{"role": "system", "content": system}]
        head = len(self.head_ids([*head_messages, {"role": "user", "content": ""}], []))
        nn, end = len(self.pieces()["nn"]), len(self.pieces()["end"])
        users, tails, breaks = self.text_counts(prompts, answers)
        prompt = [head + n for n in users]
        if breaks:
            row, where = breaks[0]
            raise RenderMismatch(row, prompt[row] - nn + where)
        return TokenCounts([p + t - nn + end for p, t in zip(prompt, tails, strict=True)], prompt)

    def text_counts(
        self, prompts: Sequence[str], answers: Sequence[str]
    ) -> tuple[list[int], list[int], list[tuple[int, int]]]:
        """Counts of each row's user and answer texts, and the rows whose answer breaks the prompt
        prefix (row, token offset). The last columns are kept: a token report counts every chunk
        twice, with and without the system prompt, and only the head differs."""
        last = self.kept().columns
        if last is not None and last[0] == prompts and last[1] == answers:
            return last[2]
        solutions = [answer.lstrip("\n") for answer in answers]
        users = self.count_prompts(prompts)
        tails = self.count_distinct(["\n\n" + s for s in solutions])
        breaks = [
            (k, where)
            for k, solution in enumerate(solutions)
            if solution[:1].isspace() and BREAKS_PREFIX.match(solution)  # rare: only these need ids
            if (where := self.answer_prefix_break(solution)) is not None
        ]
        self.kept().columns = (list(prompts), list(answers), (users, tails, breaks))
        return users, tails, breaks

    def answer_prefix_break(self, solution: str) -> int | None:
        """Where the answer's ids stop extending the prompt's closing ``"\\n\\n"`` (None: they do)."""
        nn = self.pieces()["nn"]
        answer = self.encode(["\n\n" + solution])[0].ids
        return first_difference(nn, answer[: len(nn)])
