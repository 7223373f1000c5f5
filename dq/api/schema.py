"""The rule-set schema: what a rule-set TOML file may say, each field documented.

These models are the source of ``dq rules schema`` (a JSON Schema editors can validate TOML
with) and of the generated ``docs/ruleset.md``. In TOML a ``[[rules]]`` entry lists its rule's
parameters beside ``rule``/``id``/``action``; ``[split]`` and ``[[contamination]]`` list their
component's options the same way. The loader moves them into ``params``/``options``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: dq's row fields, in the study's raw-row order (``row_id`` is derived from them).
ROW_FIELDS = ("source", "problem", "generated_solution", "expected_answer")


def _row_field(value: str) -> str:
    if value not in ROW_FIELDS:
        raise ValueError(f"'{value}' is not a dq row field; fields: {', '.join(ROW_FIELDS)}")
    return value


#: A parameter naming one of dq's row fields: a typo is a config error, not a crash mid-run.
RowField = Annotated[str, AfterValidator(_row_field)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(Model):
    """``[input]``: where rows come from when ``--input`` is not given, and how columns map."""

    path: str | None = Field(
        default=None,
        description="JSONL/Parquet/CSV file or hf:NAME[:CONFIG]:SPLIT; none means the demo corpus.",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description='dq field -> input column, e.g. source = "problem_source" (fields: source, '
        "problem, generated_solution, expected_answer).",
    )


class RuleEntry(Model):
    """``[[rules]]``: one rule, applied in file order; its parameters sit beside these keys."""

    rule: str = Field(description="Registered rule name, e.g. dq.phrases (see dq rules list).")
    id: str | None = Field(
        default=None, description="Reject reason recorded for failing rows (default: the rule's)."
    )
    action: Literal["reject", "skip"] = Field(
        default="reject",
        description="reject: the row is rejected with this reason; skip (leading rules only): the row "
        "is dropped before curation and counted nowhere (the study's source filter).",
    )
    description: str | None = Field(default=None, description="Free text for people reading the rule set.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="The rule's parameters (written inline in TOML)."
    )


class SplitSpec(Model):
    """``[split]``: the train/val splitter and its options (written inline)."""

    splitter: str = Field(default="dq.grouped", description="Registered splitter name.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="The splitter's options (written inline in TOML)."
    )


class BenchmarkSpec(Model):
    """``[[benchmarks]]``: a benchmark the contamination checks compare against."""

    name: str = Field(description="Name used in reports; gsm8k, math and math500 resolve by themselves.")
    path: str | None = Field(default=None, description="Local JSONL/Parquet/CSV file.")
    hf: str | None = Field(default=None, description="Hugging Face dataset: NAME[:CONFIG]:SPLIT.")
    field: str = Field(
        default="", description="Question field (default: the first of question, problem, input)."
    )


#: What a contamination match is, from the two texts and the numbers on each side. Checks label
#: every match with its kind; a rule set sets an action per kind (``kind_actions``), never a filter.
MATCH_KINDS = (
    "verbatim",  # the same canonical text
    "near",  # other wording, the same numbers in the same order
    "numbers_permuted",  # the same numbers in another order
    "numbers_changed",  # as many numbers, other values
    "numbers_added_or_removed",  # a number more or fewer
    "reworded",  # found by meaning, not by shared text (semantic checks), same quantities or answer
    "template_sibling",  # found by meaning: the same story with other quantities (semantic checks)
)


class GateEntry(Model):
    """``[[contamination]]``: one contamination check and what a match does (options inline)."""

    check: str = Field(default="dq.exact", description="Registered contamination check name.")
    action: Literal["fail", "drop", "warn"] = Field(
        default="fail",
        description="fail: a match fails the run (exit 1); drop: matched rows are removed and counted; "
        "warn: matches are reported only.",
    )
    kind_actions: dict[str, Literal["fail", "drop", "warn"]] = Field(
        default_factory=dict,
        description='Action per match kind, overriding action, e.g. { numbers_changed = "warn" }; '
        "kinds: " + ", ".join(MATCH_KINDS) + ".",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="The check's options (written inline in TOML)."
    )


class LeakageSpec(Model):
    """``[leakage]``: the train/val leakage gate."""

    action: Literal["fail", "warn"] = Field(
        default="fail", description="What leakage between train and val does."
    )
    near_duplicates: bool = Field(
        default=False,
        description="Also gate MinHash near-duplicates between val and train (estimated Jaccard).",
    )
    threshold: float = Field(
        default=0.7, ge=0, le=1, description="Estimated Jaccard that counts as a near-duplicate."
    )


class CostSpec(Model):
    """``[render.cost]``: the training run the token report prices (defaults: the study's)."""

    epochs: int = Field(default=2, ge=1, description="Training epochs.")
    validation_passes: int | None = Field(
        default=None, ge=0, description="Validation passes; default the study's cadence for this many rows."
    )
    price_per_million: float = Field(default=0.40, ge=0, description="Dollars per million training tokens.")
    eval_examples: int = Field(default=1319, ge=0, description="Evaluation prompts (GSM8K test: 1,319).")
    eval_max_new_tokens: int = Field(
        default=512, ge=1, description="Generation budget per evaluation prompt."
    )


class RenderSpec(Model):
    """``[render]``: how curated rows become chat rows."""

    system_prompt: str = Field(
        default="You are a careful math solver. Solve the problem step by step. Put the final answer in \\boxed{}.",
        description="System message of every rendered row.",
    )
    renderer_name: str = Field(
        default="qwen3_disable_thinking", description="Renderer recorded in the render manifest."
    )
    model_name: str = Field(default="Qwen/Qwen3-8B", description="Model whose chat contract the rows follow.")
    renderer: str = Field(
        default="dq.qwen3_thinking_off",
        description="Renderer plugin that turns rows into token ids (`dq.qwen3_thinking_off`: the study's).",
    )
    tokenizer: str | None = Field(
        default=None,
        description="Tokenizer by Hub id or local path; default `model_name` (Qwen3 ids build offline).",
    )
    max_length: int | None = Field(
        default=None, ge=1, description="Rows whose full render is longer are counted in the token report."
    )
    cost: CostSpec = Field(default_factory=lambda: CostSpec(), description="How the run is priced.")


class TrainSpec(Model):
    """``[train]``: LoRA runs of the ``dq.train`` stage (nothing happens unless it is in the pipeline)."""

    backend: str = Field(default="dq.local", description="Registered train backend (dq.local, dq.tinker).")
    model: str = Field(
        default="", description="Base model: local folder, .gguf, an offline name or a Tinker base model."
    )
    renderer: str | None = Field(
        default=None,
        description="Renderer of the training datums, with the backend's tokenizer (default: dq.chat_template "
        "for dq.local, [render] renderer otherwise).",
    )
    conditions: list[str] = Field(
        default_factory=lambda: ["attention_only", "all_layer"],
        description="LoRA target sets, one run each per seed: attention_only, all_layer or modules.",
    )
    seeds: list[int] = Field(
        default_factory=lambda: [0], description="Seeds; one run per condition and seed."
    )
    peak_lr: float = Field(
        default=3e-4, gt=0, description="Peak learning rate (warmup, then cosine to 10 %)."
    )
    peak_lr_by_condition: dict[str, float] = Field(
        default_factory=dict, description="Peak learning rate per condition, overriding peak_lr."
    )
    epochs: int = Field(default=2, ge=1, description="Epochs over the training rows.")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many optimizer steps.")
    rank: int = Field(default=8, ge=1, description="LoRA rank.")
    train_rows: int | None = Field(default=None, ge=1, description="Train on the first N train rows only.")
    val_rows: int | None = Field(default=None, ge=1, description="Validate on the first N val rows only.")
    micro_batch: int | None = Field(
        default=None, ge=1, description="dq.local rows per forward pass (default 1 on CPU, 8 on CUDA)."
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="torch threads for training and evaluation (2 alone on two cores, 1 beside other "
        "processes); DQ_TORCH_THREADS overrides it; default torch's own.",
    )
    allow_failed_gate: bool = Field(
        default=False,
        description="Train although a gate failed (recorded in each run manifest); otherwise training "
        "is refused and the run still exits 1.",
    )


class EvalSpec(Model):
    """``[eval]``: the ``dq.evaluate`` stage: base model and every exported adapter on a benchmark."""

    evaluator: str = Field(default="dq.gsm8k", description="Registered evaluator (see dq eval list).")
    data: str | None = Field(
        default=None,
        description="Benchmark file or DQ_BENCHMARK_DIR-style folder; default $DQ_BENCHMARK_DIR.",
    )
    limit: int | None = Field(default=None, ge=1, description="Evaluate the first N items only.")
    max_new_tokens: int = Field(default=512, ge=1, description="Greedy generation budget per item.")
    batch_size: int = Field(default=16, ge=1, description="Prompts per generate call.")
    base: bool = Field(default=True, description="Also evaluate the base model (the comparison's baseline).")


DEFAULT_PIPELINE = ["dq.load", "dq.curate", "dq.split", "dq.gate", "dq.render", "dq.tokens", "dq.write"]
DEFAULT_REPORTS = [
    "dq.contamination_json",
    "dq.contamination_matches",
    "dq.contamination_md",
    "dq.summary_md",
    "dq.html",
]


class RuleSet(Model):
    """A rule set: the whole curation contract of one ``dq run``."""

    version: Literal[1] = Field(default=1, description="Rule-set format version.")
    name: str = Field(default="unnamed", description="Name recorded in the manifest and reports.")
    description: str = Field(default="", description="Free text for people.")
    input: InputSpec = Field(default_factory=lambda: InputSpec(), description="Default input and column map.")
    pipeline: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PIPELINE), description="Stage names, in execution order."
    )
    rules: list[RuleEntry] = Field(default_factory=list, description="Rules, in evaluation order.")
    split: SplitSpec = Field(default_factory=lambda: SplitSpec(), description="The train/val splitter.")
    benchmarks: list[BenchmarkSpec] = Field(default_factory=list, description="Benchmarks to gate against.")
    contamination: list[GateEntry] = Field(
        default_factory=lambda: [GateEntry()], description="Contamination checks, each a gate."
    )
    leakage: LeakageSpec = Field(default_factory=lambda: LeakageSpec(), description="Train/val leakage gate.")
    render: RenderSpec = Field(default_factory=lambda: RenderSpec(), description="Chat rendering.")
    train: TrainSpec = Field(
        default_factory=lambda: TrainSpec(), description="LoRA training (the dq.train stage)."
    )
    eval: EvalSpec = Field(
        default_factory=lambda: EvalSpec(), description="Evaluation and comparison (the dq.evaluate stage)."
    )
    reports: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REPORTS), description="Reporter names, written to reports/."
    )
    source_path: str = Field(
        default="", exclude=True, description="Where the rule set was read from (set by dq)."
    )
    sha256: str = Field(
        default="", exclude=True, description="sha256 of the rule-set file's bytes (set by dq)."
    )
