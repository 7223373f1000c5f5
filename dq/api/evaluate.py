"""The evaluator plugin contract: benchmark items, prompts, scoring, and the sampler protocol.

An :class:`Evaluator` knows one benchmark: where its rows are, how a row becomes chat messages,
what its reference answer is, and how a generation is scored against it. A :class:`Sampler`
turns prompt token ids into greedy generations, in order. The runner (``dq.eval.runner``)
joins them with a renderer and writes the results files; none of that is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from dq.api.documented import Documented

#: The study's system prompt (SEED_CONTRACTS §4.1): the same in curation, training and eval.
SYSTEM_PROMPT = (
    "You are a careful math solver. Solve the problem step by step. Put the final answer in \\boxed{}."
)


@dataclass(frozen=True)
class Score:
    """How one generation scored: the fields a predictions row records."""

    correct: bool
    extracted_answer: str | None
    normalized_prediction: str | None
    normalized_reference: str


@dataclass(frozen=True)
class Generation:
    """One greedy completion: its token ids, the sampler's text and why it stopped ("stop"/"length")."""

    tokens: list[int]
    text: str
    stop_reason: str


@dataclass(frozen=True)
class EvalItem:
    """One benchmark row: its position, id, question, reference answer and the raw row."""

    index: int
    example_id: str
    question: str
    reference: str
    raw: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Sampler(Protocol):
    """Greedy generation backend: one :class:`Generation` per prompt, in the prompts' order."""

    def generate(self, prompt_ids: list[list[int]], max_tokens: int) -> list[Generation]:
        """Complete each prompt greedily (temperature 0) with at most ``max_tokens`` new tokens."""
        ...


class Evaluator(Documented):
    """Base class of evaluators: one benchmark, its prompt and its scorer.

    Subclasses set ``name`` (namespaced, e.g. ``"dq.gsm8k"``), ``split`` and ``metric_name``
    (the names recorded in metrics.jsonl), ``dataset`` (recorded in summary.json), and implement
    :meth:`items` and :meth:`score`. ``source`` is a local benchmark file; ``None`` lets the
    subclass find its default.
    """

    name: ClassVar[str] = ""
    split: ClassVar[str] = ""
    metric_name: ClassVar[str] = ""
    dataset: ClassVar[dict[str, Any]] = {}
    system_prompt: ClassVar[str | None] = SYSTEM_PROMPT
    max_new_tokens: ClassVar[int] = 512

    def __init__(self, source: Path | None = None) -> None:
        self.source = source

    def items(self, limit: int | None = None) -> list[EvalItem]:
        """The benchmark rows in file order; ``limit`` takes the first N."""
        raise NotImplementedError

    def messages(self, item: EvalItem) -> list[dict[str, str]]:
        """The prompt conversation: the system prompt (if any) and the raw question, no wrapper."""
        user = {"role": "user", "content": item.question}
        if self.system_prompt is None:
            return [user]
        return [{"role": "system", "content": self.system_prompt}, user]

    def reference(self, item: EvalItem) -> str:
        """The reference answer as recorded in ``reference_answer``."""
        return item.reference

    def score(self, generated_text: str, reference: str) -> Score:
        """Score one decoded generation against a reference answer."""
        raise NotImplementedError
