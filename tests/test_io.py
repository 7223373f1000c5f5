"""Readers: JSONL/Parquet/CSV give the same rows; Hugging Face streaming runs through real `datasets`."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from dq.data.hub import iter_hf_batches, parse_hf_spec
from dq.data.jsonl import object_line
from dq.data.reader import read_rows
from dq.errors import DqError

ROWS = [
    {
        "problem_source": "gsm8k",
        "problem": "Ünïcode “quotes”\nline",
        "generated_solution": "\\boxed{1}",
        "expected_answer": "1",
    },
    {
        "problem_source": "math",
        "problem": 'tab\tand "q"',
        "generated_solution": "x \\boxed{\\frac{1}{2}}",
        "expected_answer": "\\frac{1}{2}",
    },
]
MAP = {"source": "problem_source"}


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    frame = pl.DataFrame(ROWS)
    paths = {"jsonl": tmp_path / "in.jsonl", "parquet": tmp_path / "in.parquet", "csv": tmp_path / "in.csv"}
    paths["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    frame.write_parquet(paths["parquet"])
    frame.write_csv(paths["csv"])
    return paths


def test_all_formats_read_the_same_rows(inputs: dict[str, Path]) -> None:
    frames = {k: read_rows(str(p), MAP)[0] for k, p in inputs.items()}
    assert frames["jsonl"].columns == [
        "row_index",
        "source",
        "problem",
        "generated_solution",
        "expected_answer",
    ]
    assert frames["jsonl"].equals(frames["parquet"]) and frames["jsonl"].equals(frames["csv"])
    assert frames["jsonl"]["source"].to_list() == ["gsm8k", "math"]


def test_hf_streaming_reads_in_stream_order(inputs: dict[str, Path]) -> None:
    pytest.importorskip("datasets")
    batches = list(
        iter_hf_batches(
            "json",
            None,
            "train",
            ["problem", "problem_source"],
            batch_size=1,
            data_files=str(inputs["jsonl"]),
        )
    )
    assert [b.column("problem")[0].as_py() for b in batches] == [r["problem"] for r in ROWS]


def test_hf_spec_parsing() -> None:
    assert parse_hf_spec("hf:nvidia/OpenMathInstruct-2:train_1M") == (
        "nvidia/OpenMathInstruct-2",
        None,
        "train_1M",
    )
    assert parse_hf_spec("hf:openai/gsm8k:main:test") == ("openai/gsm8k", "main", "test")
    with pytest.raises(DqError, match="bad Hugging Face spec"):
        parse_hf_spec("hf:just-a-name")


def test_json_lines_are_byte_compatible_with_json_dumps() -> None:
    texts = [chr(i) for i in range(0, 300)] + ["\u2028\u2029", "\ud7ff", "😀", 'a"b\\c']
    frame = pl.DataFrame({"a": texts})
    lines = frame.select(object_line([("a", pl.col("a"))])).to_series().to_list()
    assert lines == [json.dumps({"a": t}, ensure_ascii=False) for t in texts]


def test_seed_golden_rows_are_written_byte_for_byte() -> None:
    from dq.data.rows import chat_line, raw_line

    data = Path(__file__).parent / "data"
    raw = (data / "seed_raw_val_head3.jsonl").read_text(encoding="utf-8")
    rendered = (data / "seed_rendered_val_head3.jsonl").read_text(encoding="utf-8")
    frame = pl.DataFrame([json.loads(line) for line in raw.splitlines()])
    system = json.loads(rendered.splitlines()[0])["messages"][0]["content"]
    assert "\n".join(frame.select(raw_line()).to_series()) + "\n" == raw
    assert "\n".join(frame.select(chat_line(system)).to_series()) + "\n" == rendered


def test_benchmark_arguments() -> None:
    from dq.data.benchmarks import parse_benchmark_arg

    assert parse_benchmark_arg("openai/gsm8k:main:test").model_dump() == {
        "name": "gsm8k",
        "path": None,
        "hf": "openai/gsm8k:main:test",
        "field": "",
    }
    assert parse_benchmark_arg("g=hf:openai/gsm8k:main:test#question").hf == "openai/gsm8k:main:test"
    assert parse_benchmark_arg("mine=data/test.jsonl#problem").model_dump() == {
        "name": "mine",
        "path": "data/test.jsonl",
        "hf": None,
        "field": "problem",
    }
    assert parse_benchmark_arg("data/test.parquet").name == "test"


def test_hf_stream_filters_skipped_sources_batch_by_batch(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    from dq.data.hub import read_hf

    rows = [{**ROWS[i % 2], "problem_source": ("gsm8k", "augmented_math", "math")[i % 3]} for i in range(10)]
    path = tmp_path / "stream.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    seen: list[int] = []

    def keep(batch: pl.DataFrame) -> pl.DataFrame:
        seen.append(batch.height)
        return batch.filter(pl.col("source") != "augmented_math")

    frame, count = read_hf("hf:json:train", MAP, keep, data_files=str(path))
    assert count == 10 and seen == [10]  # one 50k-row batch here; each batch is filtered on arrival
    assert frame["row_index"].to_list() == [0, 2, 3, 5, 6, 8, 9]  # stream positions survive the filter
