"""Held-out evaluation: public perturbed and reworded copies of GSM8K / MATH test items (issue 8).

    python bench/heldout.py prepare --mirror DIR [--data ../shared/data]
    nice -n 10 python bench/heldout.py evaluate [--sources all|none|NAME,...] [--clean-sample 3000]
        [--rules rules/semantic.toml] [--data ../shared/data] [--seed 0] [--json out/part.json]
    python bench/heldout.py report out/part1.json out/part2.json ...   # one set of tables

None of this data is shipped: ``prepare`` writes it to ``bench/_data/heldout/`` (git-ignored), one
JSONL per source, fields ``source, kind, problem, answer, benchmark, benchmark_index`` plus
``source_row`` (row or file in the source) and ``mapped_by`` (how the row was tied to its item).
``benchmark_index`` is the row position in ``$DATA/gsm8k/test.jsonl`` (field ``question``) or
``$DATA/math/test.jsonl`` (field ``problem``), the files dq gates against.

Sources (repository, commit read, path, license; every file is read with
``git --git-dir=<mirror> show <commit>:<path>``):

- ``gsm_plus``: qtli/GSM-Plus @ 3474129ec12fcd3e8ac08cb037aca1928efca98c,
  ``dataset/gsmplus_testmini.jsonl``. License CC-BY-SA-4.0 (the Hugging Face dataset card of
  qintongli/GSM-Plus; the GitHub repository has no LICENSE file). 2,400 rows: 300 GSM8K test items
  x 8 perturbations (numerical substitution, digit expansion, integer-decimal-fraction conversion,
  adding operation, reversing operation, problem understanding = LLM paraphrase, distraction
  insertion, critical thinking). Mapped by the exact text of ``seed_question``. The full test split
  (10,552 rows, ``dataset/gsmplus_test.jsonl``) is over 4 MiB and was not in the snapshot we could
  read; with a full clone, ``--gsm-plus-full`` reads it instead.
- ``lmsys_rephrase``: lm-sys/llm-decontaminator @ 931834aa0990d9558a06c5d34daf4ad3852a72ae,
  ``data/rephrase/rephrase_gsm8k.jsonl``. Apache-2.0 (repo LICENSE). 1,319 LLM rewrites of GSM8K
  test ("Rethinking Benchmark and Contamination ... with Rephrased Samples"), one per item in test
  order; no original text, so mapped by position, checked by the final answer (``#### x``), which
  must equal the item's.
- ``mathcheck``: PremiLab-Math/MathCheck @ fc0454ed5333b5e33d70760a03fc8c5d33814491,
  ``gsm_checklist.json``. CC-BY-4.0 (the Hugging Face card of PremiLab-Math/MathCheck; no LICENSE
  file on GitHub). The ``solving`` rows of 129 GSM8K test items: problem understanding (LLM
  rewrite), distractor insertion, scenario understanding (reversed: the answer is given, a quantity
  asked). Mapped by the exact text of the group's ``seed_question``, else the same text with
  whitespace collapsed.
- ``gsm_hard``: reasoning-machines/pal @ f81ca2a9777f002f98a6b4d0f10b61bd5c8feb02,
  ``datasets/gsmhardv2.jsonl``. Apache-2.0 (repo LICENSE; the Hugging Face card says MIT). 1,319
  GSM8K test items, rows not in test order: 990 with one or more numbers replaced by large ones
  (kind ``numbers_enlarged``), 329 identical to the item up to whitespace (kind ``unchanged``).
  Mapped by the original question in the docstring of the ``code`` field (exact), else the
  docstring or the input with every number masked (unique match only).
- ``gsm_symbolic_p2``: apple/ml-gsm-symbolic @ b6a1625025fc857300203bac9f617e5d8ec99f65,
  ``generated_data/GSM_p2.jsonl``. CC-BY-NC-ND-4.0 (``generated_data/README.md``): used for this
  local evaluation only, never redistributed or modified. 2,500 rows: 50 GSM8K test items, 50
  instances each, two clauses added and names/numbers resampled. Mapped by the exact text of
  ``original_question`` (equal to ``original_id`` for every row). GSM_symbolic.jsonl and GSM_p1.jsonl
  are over 4 MiB and were not in the snapshot; with a full clone, ``--gsm-symbolic-all`` adds them.
- ``functional_math``: ConsequentAI/fneval @ a89e561466dac1d0a376aaad9d84fa366a9f8e93,
  ``Oct-2023.tar.gz``, ``Nov-2023.tar.gz``, ``Dec-2023.tar.gz``. GPL-3.0 (repo LICENSE). Functional
  MATH ("MATH()"): 1,745 MATH test items re-instantiated with other numbers, three monthly
  snapshots (5,235 rows). Each file is named ``test/<subject>/<n>.json`` after the MATH file; mapped
  through aiwaves-cn/agents @ e8c4e3c2d19739d3dff59e577d1c97090cc15f59
  (``src/agents/datasets/data/math/test/<subject>/<n>.json``, Apache-2.0), the files
  ``$DATA/math/test.jsonl`` was built from (row i = i-th file sorted by subject, then n); the text
  of that file must equal the row's.
- ``math_perturb``: Kaffaljidhmah2/MATH-Perturb @ df4840f680fce405c9449008564574961c7f4df1,
  ``math_perturb/math_perturb_simple.jsonl`` and ``math_perturb_hard.jsonl``. Apache-2.0 (repo
  LICENSE; its README asks that it never be used as training data, and it is not). Only rows with
  ``original_split == "test"`` (115 + 115 of 279 + 279). No original text: the simple variant is
  mapped to the MATH test item of the same type, Level 5, with the highest difflib ratio (every
  one >= 0.63; the ratio is kept in ``map_ratio``), and the hard variant inherits the mapping
  through ``problem_id``.

Not used, and why: GSM-IC (google-research-datasets/GSM-IC; its data files are over 4 MiB and were
not in the snapshot, it has no license file, and its 1,000 seed problems are GSM8K *train* items);
THU-KEG/DICE ``OOD_test/scripts/data/gsm8k/rephrased1.csv`` (GPT-4 rewrites, MIT, but 1,320 rows
out of test order with repeated items and no original text: no reliable item mapping). No public
LLM rewrite of MATH test items was found.

To rebuild with internet access: clone each repository above (``git clone --bare
https://github.com/OWNER/NAME DIR/OWNER+NAME/repo``; a plain clone under ``DIR/OWNER+NAME`` works
too), then ``python bench/heldout.py prepare --mirror DIR``. ``prepare`` checks the mappings and
writes ``MANIFEST.json`` (commits, paths, licenses, rows, mapped rows, sha256 of each file).

``evaluate`` runs every check of the rule set (as ``bench/near_kinds.py`` does: each check against
its benchmarks, GSM8K test + MATH test + MATH-500) and the plain lm-eval 13-gram baseline
(``dq.contamination.calibrate.plain_ngram_matches``) on all held-out rows plus clean GSM8K and MATH
train rows (a seeded sample of ``--clean-sample`` rows each; -1: every row, 0: none), and prints,
per source and kind, the share of rows flagged against the right item (a MATH item also counts
through its MATH-500 copy) and against any item, the issue's target groups, then the clean rows
flagged (any match) and failing (a match whose action is fail), with examples. ``dq.semantic``
embeds ~20 rows/s on two shared cores, so a whole evaluation is best run in parts (``--sources``,
``--clean-sample 0``; clean rows alone with ``--sources none``) whose ``--json`` files ``report``
prints together (docs/contamination.md, "Held-out evaluation", has the commands).
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path
from typing import Any

import polars as pl
from heldout_sources import OUT, ROOT, prepare

TARGETS = {
    "GSM8K: LLM rewrites (target >= 90 %)": {
        ("lmsys_rephrase", "llm_rephrase"),
        ("gsm_plus", "problem understanding"),
        ("mathcheck", "problem_understanding"),
    },
    "GSM8K: number-perturbed and distractor copies (target >= 95 %)": {
        ("gsm_plus", "numerical substitution"),
        ("gsm_plus", "digit expansion"),
        ("gsm_plus", "integer-decimal-fraction conversion"),
        ("gsm_plus", "distraction insertion"),
        ("mathcheck", "distractor_insertion"),
        ("gsm_hard", "numbers_enlarged"),
    },
    "MATH: number-changed copies (target >= 95 %)": {("functional_math", "numbers_changed")},
}


# ---------------------------------------------------------------------------------------------- evaluate

CLEAN = (("GSM8K train", "gsm8k/train.jsonl", "question"), ("MATH train", "math/train.jsonl", "problem"))
#: Each clean set's answer field (``--answers``): GSM8K's ``#### x``, MATH's last box.
CLEAN_ANSWERS = {"gsm8k/train.jsonl": "answer", "math/train.jsonl": "solution"}
LEXICAL = ("dq.exact", "dq.minhash", "dq.ngram", "dq.template")
COLUMNS = (*LEXICAL, "lexical union", "dq.semantic", "rule set", "rule set, failing", "13-gram baseline")


def _with_answers(data: Path, name: str) -> pl.DataFrame:
    from dq.api.schema import BenchmarkSpec
    from dq.data.benchmarks import load_benchmark

    return load_benchmark(BenchmarkSpec(name=name, path=str(data / name / "test.jsonl")))[0]


def load_heldout(folder: Path) -> pl.DataFrame:
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise SystemExit(
            f"no held-out data under {folder}: run `python bench/heldout.py prepare --mirror DIR`"
        )
    frames = [
        pl.read_ndjson(f, infer_schema_length=None).select(
            pl.col("source", "kind", "problem", "benchmark"),
            pl.col("benchmark_index").cast(pl.Int64),
            pl.col("answer").cast(pl.String),
        )
        for f in files
    ]
    return pl.concat(frames).filter(pl.col("benchmark_index").is_not_null())


def sample_per_kind(held: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """At most ``n`` rows of each (source, kind), seeded (a quick look; 0 keeps every row)."""
    if not n:
        return held
    parts = [
        g.sample(min(n, g.height), seed=seed) for _, g in held.group_by("source", "kind", maintain_order=True)
    ]
    return pl.concat(parts)


def columns_of(found: dict[str, pl.DataFrame], any_label: str, baseline: str) -> dict[str, pl.DataFrame]:
    """Matches per reported column: each check (all its entries), the unions, the baseline."""
    keep = ["pos", "benchmark", "benchmark_index", "action"]
    by_check: dict[str, list[pl.DataFrame]] = collections.defaultdict(list)
    for label, frame in found.items():
        if label not in (any_label, baseline):
            by_check[label.split("[")[0]].append(frame.select(keep))
    empty = found[any_label].select(keep).clear()  # a check the rule set lacks: an empty column

    def union(names: tuple[str, ...]) -> pl.DataFrame:
        return pl.concat([empty, *(f for n in names for f in by_check.get(n, []))])

    cols = {name: union((name,)) for name in LEXICAL}
    cols["lexical union"] = union(LEXICAL)
    cols["dq.semantic"] = union(("dq.semantic",))
    cols["rule set"] = found[any_label].select(keep)
    cols["rule set, failing"] = cols["rule set"].filter(pl.col("action").is_in(["fail", "drop"]))
    cols["13-gram baseline"] = found[baseline].select(keep)
    return cols


def _pct(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f} %" if whole else "-"


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Every check's matches on the chosen held-out sources and clean rows, as counts (JSON-able)."""
    from near_kinds import _matches, plan_and_benchmarks  # the rule-set runner of bench/near_kinds.py

    from dq.contamination.calibrate import ANY, BASELINE
    from dq.data.benchmarks import final_answers

    start = time.perf_counter()
    plan, benchmarks = plan_and_benchmarks(args.rules, args.data)
    math_row = {q: i for i, q in enumerate(benchmarks["math"]["question"])}
    m500 = pl.DataFrame(
        {
            "benchmark": "math500",
            "benchmark_index": benchmarks["math500"]["benchmark_index"].cast(pl.Int64),
            "math_index": [math_row.get(q) for q in benchmarks["math500"]["question"]],
        }
    )
    held = load_heldout(args.heldout)
    if args.sources != "all":
        held = held.filter(pl.col("source").is_in(args.sources.split(",")))
    held = sample_per_kind(held, args.per_kind, args.seed)
    if args.answers:  # the benchmarks with their answers, exactly as dq run loads them
        benchmarks = {name: _with_answers(args.data, name) for name in benchmarks}
    clean: dict[str, pl.Series] = {}
    clean_answers: list[pl.Series] = []
    for name, path, field in CLEAN:
        if args.clean_sample == 0:
            continue
        frame = pl.read_ndjson(args.data / path)
        if 0 < args.clean_sample < frame.height:
            frame = frame.sample(args.clean_sample, seed=args.seed)
        clean[name] = frame[field]
        answer_field = CLEAN_ANSWERS[path]
        clean_answers.append(final_answers(frame[answer_field], answer_field))
    texts = pl.concat([held["problem"], *clean.values()]).alias("problem")
    rows = pl.DataFrame({"problem": texts}).with_row_index("pos")
    if args.answers:
        answers = pl.concat([held["answer"].cast(pl.String), *clean_answers])
        rows = rows.with_columns(expected_answer=answers)
    print(
        f"{held.height} held-out rows, {sum(s.len() for s in clean.values())} clean rows; {args.rules}",
        flush=True,
    )
    found = _matches(plan, rows, benchmarks)
    cols = columns_of(found, ANY, BASELINE)
    truth = held.with_row_index("pos").select("pos", "source", "kind", "benchmark", "benchmark_index")
    via_500 = (
        truth.filter(pl.col("benchmark") == "math")
        .join(m500, left_on="benchmark_index", right_on="math_index", suffix="_500")
        .select(
            "pos", "source", "kind",
            pl.col("benchmark_500").alias("benchmark"), pl.col("benchmark_index_500").alias("benchmark_index"),
        )
    )  # fmt: skip
    right_pairs = pl.concat([truth, via_500])
    result: dict[str, Any] = {
        "rules": str(args.rules),
        "sources": args.sources,
        "per_kind": args.per_kind,
        "clean_sample": args.clean_sample,
        "answers": args.answers,
        "seed": args.seed,
        "rows": {},
        "clean": {},
        "examples": [],
    }
    for source, kind, n in truth.group_by("source", "kind", maintain_order=True).len().iter_rows():
        part = truth.filter((pl.col("source") == source) & (pl.col("kind") == kind))
        pairs = right_pairs.filter((pl.col("source") == source) & (pl.col("kind") == kind))
        cells: dict[str, dict[str, int]] = {}
        for col, frame in cols.items():
            mine = frame.join(part.select("pos"), on="pos", how="semi")
            right = mine.join(
                pairs.select("pos", "benchmark", "benchmark_index"),
                on=["pos", "benchmark", "benchmark_index"],
            )
            cells[col] = {"right": right["pos"].n_unique(), "any": mine["pos"].n_unique()}
        result["rows"][f"{source}/{kind}"] = {"source": source, "kind": kind, "n": n, "cells": cells}
    offset = held.height
    for name, series in clean.items():
        inside = pl.col("pos").is_between(offset, offset + series.len() - 1)
        failing = inside & pl.col("action").is_in(["fail", "drop"])
        result["clean"][name] = {
            "n": series.len(),
            "flagged": {c: f.filter(inside)["pos"].n_unique() for c, f in cols.items()},
            "failing": {c: f.filter(failing)["pos"].n_unique() for c, f in cols.items()},
            "failing_kinds": dict(
                found[ANY].filter(failing).unique("pos")["kind"].value_counts().iter_rows()
            ),
        }
        hits = (
            found[ANY]
            .filter(failing)
            .sort("score", descending=True, nulls_last=True)
            .unique("pos", keep="first", maintain_order=True)
            .head(args.examples)
        )
        for r in hits.iter_rows(named=True):
            result["examples"].append(
                {
                    "set": name,
                    "kind": r["kind"],
                    "score": r["score"],
                    "benchmark": r["benchmark"],
                    "benchmark_index": int(r["benchmark_index"]),
                    "train": str(series[int(r["pos"]) - offset]),
                    "test": str(benchmarks[r["benchmark"]]["question"][int(r["benchmark_index"])]),
                }
            )
        offset += series.len()
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def _header(first: str) -> str:
    names = " | ".join(f"`{c}`" if c.startswith("dq.") else c for c in COLUMNS)
    return f"{first} | {names} |\n" + "|---" * (first.count("|") + len(COLUMNS)) + "|"


def render(results: list[dict[str, Any]]) -> None:
    """The markdown tables of one or more ``evaluate`` results (rows and clean sets merged)."""
    rows = {k: v for r in results for k, v in r["rows"].items()}
    clean = {k: v for r in results for k, v in r["clean"].items()}
    examples = [e for r in results for e in r["examples"]]
    rules = sorted({Path(r["rules"]).name for r in results})
    for which, title in (("right", "flagged against the right item"), ("any", "flagged against any item")):
        print(f"\nHeld-out rows {title} ({', '.join(rules)}):\n")
        print(_header("| source | kind | rows"))
        for v in rows.values():
            cells = " | ".join(_pct(v["cells"][c][which], v["n"]) for c in COLUMNS)
            print(f"| {v['source']} | {v['kind']} | {v['n']:,} | {cells} |")
    print("\nTargets (right item, rows pooled over the kinds of each group):\n")
    pooled = ("lexical union", "dq.semantic", "rule set", "rule set, failing", "13-gram baseline")
    print("| group | rows | " + " | ".join(f"`{c}`" if c.startswith("dq.") else c for c in pooled) + " |")
    print("|---|---|" + "---|" * len(pooled))
    for group, members in TARGETS.items():
        entries = [v for v in rows.values() if (v["source"], v["kind"]) in members]
        n = sum(v["n"] for v in entries)
        cells = " | ".join(_pct(sum(v["cells"][c]["right"] for v in entries), n) for c in pooled)
        print(f"| {group} | {n:,} | {cells} |")
    below = [
        f"{v['source']}/{v['kind']} ({v['cells']['lexical union']['right']} < {v['cells']['13-gram baseline']['right']} of {v['n']})"
        for v in rows.values()
        if v["cells"]["lexical union"]["right"] < v["cells"]["13-gram baseline"]["right"]
    ]
    print("\nLexical union below the 13-gram baseline on the right item: " + ("; ".join(below) or "none"))
    if clean:
        print(
            "\nClean rows against GSM8K test + MATH test + MATH-500 (flagged: any match; failing: action fail):\n"
        )
        print(_header("| clean set | rows"))
        for name, v in clean.items():
            for what in ("flagged", "failing"):
                cells = " | ".join(f"{v[what][c]} ({_pct(v[what][c], v['n'])})" for c in COLUMNS)
                print(f"| {name}, {what} | {v['n']:,} | {cells} |")
        for name, v in clean.items():
            kinds = ", ".join(
                f"{k} {n}" for k, n in sorted(v["failing_kinds"].items(), key=lambda kv: -kv[1])
            )
            print(f"\n{name} failing rows by the kind of one failing match: {kinds or 'none'}")
        print("\nClean rows failing the rule set (examples, highest score first):\n")
        for e in examples:
            score = "" if e["score"] is None else f", score {e['score']:.3f}"
            print(f"- {e['set']} ({e['kind']}{score}) vs {e['benchmark']}[{e['benchmark_index']}]:")
            print(f"  train: {json.dumps(e['train'][:220])}\n  test:  {json.dumps(e['test'][:220])}")
    print(f"\n{sum(r['seconds'] for r in results):.0f} s of evaluation")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("prepare", help="rebuild bench/_data/heldout/*.jsonl from clones of the sources")
    p.add_argument("--mirror", type=Path, required=True, help="folder holding OWNER+NAME/repo git dirs")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--gsm-plus-full", action="store_true", help="GSM-Plus test (10,552 rows), not testmini")
    p.add_argument("--gsm-symbolic-all", action="store_true", help="also GSM_symbolic.jsonl and GSM_p1.jsonl")
    e = sub.add_parser(
        "evaluate", help="run the rule set's checks and the 13-gram baseline on the held-out sets"
    )
    e.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    e.add_argument("--heldout", type=Path, default=OUT)
    e.add_argument("--rules", type=Path, default=ROOT / "rules" / "semantic.toml")
    e.add_argument("--sources", default="all", help="comma-separated source names, all, or none")
    e.add_argument("--per-kind", type=int, default=0, help="at most N rows per source and kind (0: all)")
    e.add_argument(
        "--clean-sample", type=int, default=3000, help="clean rows per train set (0: none, -1: all)"
    )
    e.add_argument(
        "--answers",
        action="store_true",
        help="rows carry their answers and benchmarks theirs, as `dq run` loads them (dq.semantic's answer agreement)",
    )
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--examples", type=int, default=4, help="failing clean rows shown per set")
    e.add_argument("--json", type=Path, help="also write the counts as JSON (for `report`)")
    r = sub.add_parser("report", help="print the tables of one or more `evaluate --json` files together")
    r.add_argument("json", type=Path, nargs="+")
    args = ap.parse_args()
    if args.what == "prepare":
        prepare(args.mirror, args.data, args.out, args.gsm_plus_full, args.gsm_symbolic_all)
    elif args.what == "evaluate":
        result = evaluate(args)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        render([result])
    else:
        render([json.loads(path.read_text()) for path in args.json])


if __name__ == "__main__":
    main()
