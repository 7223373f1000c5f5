"""A throwaway plugin that implements every dq hook, for the hook tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click
import polars as pl

from dq import RowRule, RuleContext, hookimpl
from dq.api.evaluate import EvalItem, Evaluator, Generation, Score
from dq.api.render import RenderedBatch, Renderer, check_prefix
from dq.api.run import ContaminationCheck, Reporter, SplitResult, Splitter, Stage
from dq.api.train import AdamParams, Datum, LoraTargets, StepResult, TrainBackend

CALLS: list[tuple[str, Any]] = []


class ShortSolution(RowRule):
    """The solution is shorter than ``min_chars`` characters."""

    code = "REC001"
    name = "recorder.short_solution"

    class Params(RowRule.Params):
        min_chars: int = 40

    def failing_rows(self, ctx: RuleContext) -> pl.Expr:
        return pl.col("generated_solution").str.len_chars() < self.params.min_chars


class CountStage(Stage):
    """Counts accepted rows into the run notes."""

    name = "recorder.count"

    def run(self, state: Any) -> None:
        state.notes.append(f"accepted={state.accepted.height}")


class MathToVal(Splitter):
    """Every math row goes to val, the rest to train (row order kept)."""

    name = "recorder.math_to_val"

    def split(self, rows: pl.DataFrame, state: Any = None) -> SplitResult:
        is_math = (rows["source"] == "math").to_list()
        val = [i for i, m in enumerate(is_math) if m]
        train = [i for i, m in enumerate(is_math) if not m]
        return SplitResult(train=train, val=val, train_groups=len(train), val_groups=len(val))


class ContainsCheck(ContaminationCheck):
    """A row matches when it contains a benchmark question as a substring."""

    name = "recorder.contains"

    def find(self, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> pl.DataFrame:
        found = []
        for name, bench in benchmarks.items():
            for index, question in zip(bench["benchmark_index"], bench["question"], strict=True):
                hit = rows.filter(pl.col("problem").str.contains(question, literal=True))
                found += [(pos, name, int(index), 1.0) for pos in hit["pos"]]
        return pl.DataFrame(
            found,
            schema={
                "pos": pl.UInt32,
                "benchmark": pl.String,
                "benchmark_index": pl.Int64,
                "score": pl.Float64,
            },
            orient="row",
        )


class RowCountReporter(Reporter):
    """reports/rows.txt: train and val row counts."""

    name = "recorder.rows"
    filename = "rows.txt"

    def write(self, state: Any) -> bytes:
        return f"{state.train.height} {state.val.height}\n".encode()


class Utf8:
    """The toy renderer's tokenizer: one token per UTF-8 byte."""

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return bytes(ids).decode("utf-8", errors="replace")


class BytesRenderer(Renderer):
    """'role: content' lines, one token per UTF-8 byte."""

    name = "recorder.bytes"
    default_tokenizer = "utf-8"

    def load_tokenizer(self, name: str) -> Any:
        return Utf8()

    def render_text(self, messages: list[dict[str, Any]]) -> str:
        return "".join(f"{m['role']}: {m['content']}\n" for m in messages)

    def prompt_ids(self, conversations: Any) -> list[list[int]]:
        return [list((self.render_text(c) + "assistant: ").encode()) for c in conversations]

    def render_batch(self, conversations: Any) -> RenderedBatch:
        full = [list(self.render_text(c).encode()) for c in conversations]
        prompts = self.prompt_ids([c[:-1] for c in conversations])
        for row, (prompt, ids) in enumerate(zip(prompts, full, strict=True)):
            check_prefix(row, prompt, ids)
        return RenderedBatch(full_ids=full, prompt_lens=[len(p) for p in prompts])


class EchoSampler:
    """'Generates' the last line of the prompt's user turn (a deterministic stand-in for a model)."""

    def generate(self, prompt_ids: list[list[int]], max_tokens: int) -> list[Generation]:
        out = []
        for ids in prompt_ids:
            question = bytes(ids).decode().split("user: ", 1)[1].split("\n", 1)[0]
            answer = question.split("=")[-1].strip() if "=" in question else "?"
            tokens = list(f"thinking\n{answer}".encode())[:max_tokens]
            out.append(Generation(tokens, bytes(tokens).decode(), "stop"))
        return out


class LastLineEvaluator(Evaluator):
    """Scores the generation's last line against the reference, exactly."""

    name = "recorder.last_line"
    split = "recorder_test"
    metric_name = "recorder_accuracy"
    dataset = {"name": "recorder"}

    def items(self, limit: int | None = None) -> list[EvalItem]:
        rows = [("What is 2+2? It is = 4", "4"), ("3*3 = 9", "9"), ("No answer here", "7")]
        return [EvalItem(i, f"recorder_{i}", q, a) for i, (q, a) in enumerate(rows)][:limit]

    def score(self, generated_text: str, reference: str) -> Score:
        lines = generated_text.strip().splitlines()
        last = lines[-1].strip() if lines else None
        return Score(last == reference, last, last, reference)


class UniformBackend(TrainBackend):
    """Scores every target as uniform over 256 byte tokens; trains nothing."""

    name = "recorder.uniform"

    def start(self, base_model: str, rank: int, targets: LoraTargets, seed: int, options: dict) -> None:
        self.steps = 0
        self.saved: dict[str, int] = {}

    def _score(self, datums: Any) -> StepResult:
        weight = sum(sum(d.weights) for d in datums)
        return StepResult(weight * 5.545, weight, sum(d.token_count for d in datums))  # ln 256

    def forward_backward(self, datums: Sequence[Datum]) -> StepResult:
        return self._score(datums)

    def forward(self, datums: Sequence[Datum]) -> StepResult:
        return self._score(datums)

    def optim_step(self, adam: AdamParams) -> dict[str, float]:
        self.steps += 1
        CALLS.append(("lr", adam.learning_rate))
        return {}

    def save_state(self, name: str) -> str:
        self.saved[name] = self.steps
        return f"memory://{name}"

    def restore(self, path: str) -> None:
        self.steps = self.saved[path.removeprefix("memory://")]

    def export_for_sampling(self, name: str) -> str:
        return f"memory://export-{name}"


@hookimpl
def dq_register_train_backends(register: Callable[[type], None]) -> None:
    register(UniformBackend)


@hookimpl
def dq_register_renderers(register: Callable[[type], None]) -> None:
    register(BytesRenderer)


@hookimpl
def dq_register_evaluators(register: Callable[[type], None]) -> None:
    register(LastLineEvaluator)


@hookimpl
def dq_register_rules(register: Callable[[type], None]) -> None:
    register(ShortSolution)


@hookimpl
def dq_register_stages(register: Callable[[type], None]) -> None:
    register(CountStage)


@hookimpl
def dq_register_splitters(register: Callable[[type], None]) -> None:
    register(MathToVal)


@hookimpl
def dq_register_contamination_checks(register: Callable[[type], None]) -> None:
    register(ContainsCheck)


@hookimpl
def dq_register_reporters(register: Callable[[type], None]) -> None:
    register(RowCountReporter)


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    @cli.command(name="recorder-hello")
    def hello() -> None:
        """Say hello."""
        click.echo("hello from recorder")


@hookimpl
def dq_before_run(run: Any) -> None:
    CALLS.append(("before", run.rule_set.name))


@hookimpl
def dq_after_run(run: Any, result: Any) -> None:
    CALLS.append(("after", result.status))
    raise RuntimeError("after_run must not break a finished run")
