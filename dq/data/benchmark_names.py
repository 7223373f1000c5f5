"""The benchmarks dq knows by name, and where each resolves (``DQ_BENCHMARK_DIR`` or the Hub)."""

from __future__ import annotations

from pathlib import Path

from dq.api.schema import BenchmarkSpec
from dq.errors import DqError

#: Fields tried, in order, when a benchmark names no field.
QUESTION_FIELDS = ("question", "problem", "input", "Question", "Problem")
#: Fields tried, in order, for an item's answer (optional: evidence for dq.semantic's verification).
#: ``solution`` (MATH) gives its last ``\boxed{}``; a GSM8K answer its ``#### x`` tail.
ANSWER_FIELDS = ("answer", "expected_answer", "final_answer", "solution")

#: Benchmarks known by name: (Hugging Face spec, field, path under DQ_BENCHMARK_DIR).
KNOWN = {
    "gsm8k": ("openai/gsm8k:main:test", "question", "gsm8k/test.jsonl"),
    "math": (
        "EleutherAI/hendrycks_math:algebra+counting_and_probability+geometry+intermediate_algebra"
        "+number_theory+prealgebra+precalculus:test",
        "problem",
        "math/test.jsonl",
    ),
    "math500": ("HuggingFaceH4/MATH-500:test", "problem", "math500/test.jsonl"),
}


def benchmark_dir() -> Path | None:
    """``$DQ_BENCHMARK_DIR`` (local copies of the known benchmarks), or None when unset."""
    import os

    root = os.environ.get("DQ_BENCHMARK_DIR", "").strip()
    return Path(root).expanduser() if root else None


def known_location(name: str) -> tuple[str, str]:
    """Where a known benchmark resolves now: ``("local", PATH)``, ``("hub", SPEC)`` or ``("missing", PATH)``.

    With ``DQ_BENCHMARK_DIR`` set, the file under it is the only source: never a silent Hub fallback.
    """
    hf, _, rel = KNOWN[name]
    root = benchmark_dir()
    if root is None:
        return "hub", hf
    path = root / rel
    return ("local" if path.is_file() else "missing"), str(path)


def known_benchmark(name: str) -> BenchmarkSpec:
    """A named benchmark: the file under ``$DQ_BENCHMARK_DIR`` when that is set, else the Hub."""
    hf, field, rel = KNOWN[name]
    where, location = known_location(name)
    if where == "hub":
        return BenchmarkSpec(name=name, hf=hf, field=field)
    if where == "local":
        return BenchmarkSpec(name=name, path=location, field=field)
    root = benchmark_dir()
    fix = (
        f"make it with 'dq benchmarks pull {name} --to {root}' where online, or pass --benchmark {name}=PATH"
    )
    if root is not None and not root.is_dir():
        raise DqError(
            f"benchmark '{name}': DQ_BENCHMARK_DIR={root} is not a folder (expected {location}); "
            f"fix DQ_BENCHMARK_DIR (unset it to use the Hub), {fix}"
        )
    raise DqError(f"benchmark '{name}': {location} not found (DQ_BENCHMARK_DIR={root}); {fix}")


def parse_benchmark_arg(arg: str) -> BenchmarkSpec:
    """``NAME=PATH[#FIELD]``, ``NAME=hf:DATASET[:CONFIG]:SPLIT[#FIELD]`` or a bare ``PATH``."""
    name, sep, spec = arg.partition("=")
    if not sep and arg in KNOWN and not Path(arg).exists():
        return known_benchmark(arg)
    if not sep:
        name, spec = Path(arg.split("#")[0]).stem, arg
    spec, _, fld = spec.partition("#")
    if not name or not spec:
        raise DqError(f"--benchmark '{arg}': use NAME=PATH[#FIELD] or NAME=hf:DATASET:SPLIT")
    if not spec.startswith("hf:") and _looks_like_hub_name(spec):
        name = name if sep else spec.split(":")[0].rsplit("/", 1)[-1]
        spec = "hf:" + spec
    if spec.startswith("hf:"):
        return BenchmarkSpec(name=name, hf=spec.removeprefix("hf:"), field=fld)
    return BenchmarkSpec(name=name, path=spec, field=fld or "")


def _looks_like_hub_name(spec: str) -> bool:
    """``owner/name:split`` or ``owner/name:config:split`` that is not a local file."""
    import re

    return not Path(spec).exists() and re.fullmatch(r"[\w.-]+/[\w.-]+(:[\w.+-]+){1,2}", spec) is not None
