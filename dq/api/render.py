"""The renderer contract: chat rows → the exact text and token ids a model is trained and evaluated on.

A renderer is built from a tokenizer (Hub id or local folder; ``None`` means the renderer's
default) and options. Every call behaves like ``tokenizer.apply_chat_template(...,
enable_thinking=False, return_dict=True)``:

- ``render_text`` is the audit render (``tokenize=False, add_generation_prompt=False``);
- ``render_batch`` gives each row's full ids (``add_generation_prompt=False``) and the length of
  the render of ``messages[:-1]`` with ``add_generation_prompt=True`` (the loss-mask boundary);
- ``prompt_ids`` renders eval prompts (conversations without the assistant turn,
  ``add_generation_prompt=True``).

A row whose prompt ids are not a prefix of its full ids raises :class:`RenderMismatch`: training
on it would put the loss boundary inside a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from dq.api.documented import Documented
from dq.api.run import Options

Message = dict[str, Any]
Conversation = list[Message]


class RendererOptions(Options):
    """Options every renderer understands (none yet; subclasses add theirs)."""


@dataclass(frozen=True)
class RenderedBatch:
    """Token ids of a batch of training rows, in input order."""

    full_ids: list[list[int]]
    prompt_lens: list[int]


@dataclass(frozen=True)
class TokenCounts:
    """Token counts of a batch of training rows (no ids kept: cheap for reports over millions of rows)."""

    full_lens: list[int]
    prompt_lens: list[int]


class RenderMismatch(ValueError):
    """A row's prompt ids are not a prefix of its full ids (or another render invariant broke)."""

    def __init__(self, row: int, position: int, detail: str = "") -> None:
        self.row = row
        self.position = position
        self.detail = detail
        what = detail or "the prompt tokens are not a prefix of the full tokens"
        super().__init__(f"row {row}: {what} (first difference at token {position})")


def first_difference(prompt: Sequence[int], full: Sequence[int]) -> int | None:
    """Position where ``prompt`` stops being a prefix of ``full``; ``None`` when it is one."""
    if len(prompt) <= len(full) and list(full[: len(prompt)]) == list(prompt):
        return None
    for pos, (a, b) in enumerate(zip(prompt, full, strict=False)):
        if a != b:
            return pos
    return min(len(prompt), len(full))


def check_prefix(row: int, prompt: Sequence[int], full: Sequence[int]) -> None:
    """Raise :class:`RenderMismatch` naming ``row`` unless ``prompt`` is a prefix of ``full``."""
    pos = first_difference(prompt, full)
    if pos is not None:
        raise RenderMismatch(row, pos)


class Renderer(Documented):
    """Renders chat rows to text and token ids exactly as the model's chat template does."""

    name: ClassVar[str] = ""
    #: Tokenizer used when none is given (Hub id or folder); ``None``: a tokenizer is required.
    default_tokenizer: ClassVar[str | None] = None
    #: The model validating this renderer's options.
    Options: ClassVar[type[Any]] = RendererOptions
    #: True when ``token_counts_columns`` may run in two threads at once (the token report then
    #: prepares one chunk while another is being counted); the default is one call at a time.
    concurrent_counts: ClassVar[bool] = False

    def __init__(self, tokenizer: str | None = None, **options: Any) -> None:
        name = tokenizer or self.default_tokenizer
        if not name:
            raise ValueError(f"renderer {self.name!r} needs a tokenizer (Hub id or folder)")
        self.tokenizer_name: str = name
        self.options = self.Options(**options)
        self._tokenizer: Any = None

    @property
    def tokenizer(self) -> Any:
        """The transformers tokenizer, loaded at first use."""
        if self._tokenizer is None:
            self._tokenizer = self.load_tokenizer(self.tokenizer_name)
        return self._tokenizer

    def load_tokenizer(self, name: str) -> Any:
        """Load the tokenizer ``name`` (subclasses decide how: offline build, folder, Hub)."""
        raise NotImplementedError

    def render_text(self, messages: Conversation) -> str:
        """The audit render of one conversation (``tokenize=False, add_generation_prompt=False``)."""
        raise NotImplementedError

    def render_batch(self, conversations: Sequence[Conversation]) -> RenderedBatch:
        """Full ids and prompt lengths of training rows (system?, user, assistant)."""
        raise NotImplementedError

    def prompt_ids(self, conversations: Sequence[Conversation]) -> list[list[int]]:
        """Eval prompt ids: conversations without the assistant turn, ``add_generation_prompt=True``."""
        raise NotImplementedError

    def token_counts(self, conversations: Sequence[Conversation]) -> TokenCounts:
        """Full and prompt token counts of training rows (same checks as ``render_batch``)."""
        batch = self.render_batch(conversations)
        return TokenCounts([len(ids) for ids in batch.full_ids], batch.prompt_lens)

    def token_counts_columns(
        self, system: str | None, prompts: Sequence[str], answers: Sequence[str]
    ) -> TokenCounts:
        """:meth:`token_counts` of rows given as columns: (a system turn when ``system`` is not
        None, user ``prompts[i]``, assistant ``answers[i]``). The token report counts through this;
        the default builds each conversation, a renderer may count the columns directly."""
        head = [] if system is None else [{"role": "system", "content": system}]
        return self.token_counts(
            [
                [*head, {"role": "user", "content": p}, {"role": "assistant", "content": a}]
                for p, a in zip(prompts, answers, strict=True)
            ]
        )
