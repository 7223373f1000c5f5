"""The held-out sources of ``bench/heldout.py``: where each file comes from (repository, commit,
license) and how ``prepare`` rebuilds ``bench/_data/heldout/*.jsonl`` from clones of them, each row
mapped to its GSM8K or MATH test item. See ``bench/heldout.py``'s docstring for the provenance table."""

from __future__ import annotations

import collections
import difflib
import hashlib
import io
import json
import re
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "_data" / "heldout"
Row = dict[str, Any]


@dataclass(frozen=True)
class Source:
    name: str
    repo: str
    commit: str
    paths: tuple[str, ...]
    license: str


SOURCES = {
    s.name: s
    for s in (
        Source(
            "gsm_plus",
            "qtli/GSM-Plus",
            "3474129ec12fcd3e8ac08cb037aca1928efca98c",
            ("dataset/gsmplus_testmini.jsonl",),
            "CC-BY-SA-4.0 (Hugging Face card qintongli/GSM-Plus; no LICENSE file on GitHub)",
        ),
        Source(
            "lmsys_rephrase",
            "lm-sys/llm-decontaminator",
            "931834aa0990d9558a06c5d34daf4ad3852a72ae",
            ("data/rephrase/rephrase_gsm8k.jsonl",),
            "Apache-2.0 (repo LICENSE)",
        ),
        Source(
            "mathcheck",
            "PremiLab-Math/MathCheck",
            "fc0454ed5333b5e33d70760a03fc8c5d33814491",
            ("gsm_checklist.json",),
            "CC-BY-4.0 (Hugging Face card PremiLab-Math/MathCheck; no LICENSE file on GitHub)",
        ),
        Source(
            "gsm_hard",
            "reasoning-machines/pal",
            "f81ca2a9777f002f98a6b4d0f10b61bd5c8feb02",
            ("datasets/gsmhardv2.jsonl",),
            "Apache-2.0 (repo LICENSE; Hugging Face card reasoning-machines/gsm-hard: MIT)",
        ),
        Source(
            "gsm_symbolic_p2",
            "apple/ml-gsm-symbolic",
            "b6a1625025fc857300203bac9f617e5d8ec99f65",
            ("generated_data/GSM_p2.jsonl",),
            "CC-BY-NC-ND-4.0 (generated_data/README.md): local evaluation only, not redistributed",
        ),
        Source(
            "functional_math",
            "ConsequentAI/fneval",
            "a89e561466dac1d0a376aaad9d84fa366a9f8e93",
            ("Oct-2023.tar.gz", "Nov-2023.tar.gz", "Dec-2023.tar.gz"),
            "GPL-3.0 (repo LICENSE)",
        ),
        Source(
            "math_perturb",
            "Kaffaljidhmah2/MATH-Perturb",
            "df4840f680fce405c9449008564574961c7f4df1",
            ("math_perturb/math_perturb_simple.jsonl", "math_perturb/math_perturb_hard.jsonl"),
            "Apache-2.0 (repo LICENSE; README: not to be used as training data)",
        ),
    )
}
#: The MATH test files (by name) that $DATA/math/test.jsonl was built from: the Functional MATH map.
MATH_FILES = Source(
    "math_test_files",
    "aiwaves-cn/agents",
    "e8c4e3c2d19739d3dff59e577d1c97090cc15f59",
    ("src/agents/datasets/data/math/test/",),
    "Apache-2.0 (repo LICENSE); MATH: MIT",
)
#: The issue's target groups (source, kind); the JSONL keeps each source's own kind label.

# ---------------------------------------------------------------------------------------------- prepare


def git_dir(mirror: Path, repo: str) -> Path:
    """The git directory of ``repo`` under ``mirror`` (fetch's layout, a bare or a plain clone)."""
    owner, name = repo.split("/")
    for cand in (
        mirror / f"{owner}+{name}" / "repo",
        mirror / f"{owner}+{name}",
        mirror / f"{owner}+{name}.git",
        mirror / name,
        mirror / f"{name}.git",
    ):
        if (cand / "HEAD").is_file():
            return cand
        if (cand / ".git" / "HEAD").is_file():
            return cand / ".git"
    raise SystemExit(f"{repo}: no clone under {mirror} (tried {owner}+{name}/repo, {owner}+{name}, {name})")


def blob(mirror: Path, src: Source, path: str) -> bytes:
    """``git show COMMIT:PATH`` in the source's clone."""
    cmd = ["git", "--git-dir", str(git_dir(mirror, src.repo)), "show", f"{src.commit}:{path}"]
    done = subprocess.run(cmd, capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"{src.repo}: {' '.join(cmd[3:])} failed: {done.stderr.decode().strip()}")
    return done.stdout


def tree_blobs(mirror: Path, src: Source, prefix: str) -> dict[str, bytes]:
    """Every file under ``prefix`` at the source's commit, by path relative to ``prefix``."""
    gd = str(git_dir(mirror, src.repo))
    listing = subprocess.run(
        ["git", "--git-dir", gd, "ls-tree", "-r", src.commit, prefix],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    entries = [(line.split()[2], line.split("\t", 1)[1]) for line in listing]
    out = subprocess.run(
        ["git", "--git-dir", gd, "cat-file", "--batch"],
        input="".join(f"{sha}\n" for sha, _ in entries).encode(),
        capture_output=True,
        check=True,
    ).stdout
    files, pos = {}, 0
    for _, path in entries:
        end = out.index(b"\n", pos)
        size = int(out[pos:end].split()[2])
        files[path[len(prefix) :]] = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return files


def jsonl(data: bytes) -> list[Row]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


_NUM = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _masked(text: str) -> str:
    """Numbers masked, quotes and whitespace normalised: GSM-Hard's map (unique matches only)."""
    return " ".join(_NUM.sub("#", text.replace("\u2019", "'")).lower().split())


def _final(answer: str) -> str:
    return answer.rsplit("####", 1)[-1].strip().replace(",", "")


class Index:
    """GSM8K test / MATH test texts of ``$DATA`` and the lookups every mapping uses."""

    def __init__(self, data: Path) -> None:
        self.gsm = pl.read_ndjson(data / "gsm8k/test.jsonl")
        self.math = pl.read_ndjson(data / "math/test.jsonl")
        questions = self.gsm["question"].to_list()
        self.gsm_exact = {q: i for i, q in enumerate(questions)}
        self.gsm_space = {" ".join(q.split()): i for i, q in enumerate(questions)}
        masked = collections.defaultdict(list)
        for i, q in enumerate(questions):
            masked[_masked(q)].append(i)
        self.gsm_masked = {k: v[0] for k, v in masked.items() if len(v) == 1}
        self.gsm_answers = [_final(a) for a in self.gsm["answer"]]


def _row(
    source: str, kind: str, problem: str, answer: Any, bench: str, index: int | None, **extra: Any
) -> Row:
    return {
        "source": source,
        "kind": kind,
        "problem": problem,
        "answer": None if answer is None else str(answer),
        "benchmark": bench,
        "benchmark_index": index,
        **extra,
    }


def build_gsm_plus(mirror: Path, ix: Index, full: bool = False) -> Iterator[Row]:
    src = SOURCES["gsm_plus"]
    path = "dataset/gsmplus_test.jsonl" if full else src.paths[0]
    for n, r in enumerate(jsonl(blob(mirror, src, path))):
        index = ix.gsm_exact.get(r["seed_question"])
        yield _row(
            src.name, r["perturbation_type"], r["question"], r["answer"], "gsm8k", index,
            source_row=n, mapped_by="seed_question exact" if index is not None else None,
        )  # fmt: skip


def build_lmsys(mirror: Path, ix: Index) -> Iterator[Row]:
    src = SOURCES["lmsys_rephrase"]
    for n, r in enumerate(jsonl(blob(mirror, src, src.paths[0]))):
        text = r["text"]
        question = text.split("\nAnswer:", 1)[0].removeprefix("Question:").strip()
        answer = _final(text)
        ok = n < len(ix.gsm_answers) and ix.gsm_answers[n] == answer
        yield _row(
            src.name, "llm_rephrase", question, answer, "gsm8k", n if ok else None,
            source_row=n, mapped_by="position, final answer equal" if ok else None,
        )  # fmt: skip


def build_mathcheck(mirror: Path, ix: Index) -> Iterator[Row]:
    src = SOURCES["mathcheck"]
    rows = json.loads(blob(mirror, src, src.paths[0]))
    solving = [r for r in rows if r["task_type"] == "solving"]
    seeds = {r["group_id"]: r["question"] for r in solving if r["question_type"] == "seed_question"}
    for n, r in enumerate(rows):
        if r["task_type"] != "solving" or r["question_type"] == "seed_question":
            continue
        seed = seeds[r["group_id"]]
        index, how = ix.gsm_exact.get(seed), "seed_question exact"
        if index is None:
            index, how = ix.gsm_space.get(" ".join(seed.split())), "seed_question, whitespace collapsed"
        kind = r["question_type"].removesuffix("_question")
        yield _row(
            src.name, kind, r["question"], r["answer"], "gsm8k", index,
            source_row=n, mapped_by=how if index is not None else None,
        )  # fmt: skip


_DOCSTRING = re.compile(r'"""(.*?)"""', re.S)


def build_gsm_hard(mirror: Path, ix: Index) -> Iterator[Row]:
    src = SOURCES["gsm_hard"]
    for n, r in enumerate(jsonl(blob(mirror, src, src.paths[0]))):
        doc = _DOCSTRING.search(r["code"])
        original = doc.group(1).strip() if doc else ""
        index, how = ix.gsm_exact.get(original), "code docstring exact"
        if index is None:
            index, how = ix.gsm_masked.get(_masked(original)), "code docstring, numbers masked"
        if index is None:
            index, how = ix.gsm_masked.get(_masked(r["input"])), "input, numbers masked"
        # A quarter of GSM-Hard is the GSM8K item unchanged (no number could be replaced): own kind.
        same = index is not None and " ".join(r["input"].split()) == " ".join(
            ix.gsm["question"][index].split()
        )
        yield _row(
            src.name, "unchanged" if same else "numbers_enlarged", r["input"], r["target"], "gsm8k", index,
            source_row=n, mapped_by=how if index is not None else None,
        )  # fmt: skip


def build_gsm_symbolic(mirror: Path, ix: Index, every: bool = False) -> Iterator[Row]:
    src = SOURCES["gsm_symbolic_p2"]
    files = {"p2_two_clauses_added": src.paths[0]}
    if every:
        files |= {
            "symbolic": "generated_data/GSM_symbolic.jsonl",
            "p1_clause_added": "generated_data/GSM_p1.jsonl",
        }
    for kind, path in files.items():
        for n, r in enumerate(jsonl(blob(mirror, src, path))):
            index = ix.gsm_exact.get(r["original_question"])
            ok = index is not None and index == r["original_id"]
            yield _row(
                src.name, kind, r["question"], _final(r["answer"]), "gsm8k", index if ok else None,
                source_row=f"{path}:{n}", mapped_by="original_question exact = original_id" if ok else None,
            )  # fmt: skip


_BOXED = re.compile(r"\\boxed\{(.*)\}")


def build_functional_math(mirror: Path, ix: Index) -> Iterator[Row]:
    src = SOURCES["functional_math"]
    originals = tree_blobs(mirror, MATH_FILES, MATH_FILES.paths[0])
    order = sorted(originals, key=lambda k: (k.split("/")[0], int(k.split("/")[1].removesuffix(".json"))))
    problems = ix.math["problem"].to_list()
    row_of = {
        key: i
        for i, key in enumerate(order)
        if i < len(problems) and json.loads(originals[key])["problem"] == problems[i]
    }
    for path in src.paths:
        with tarfile.open(fileobj=io.BytesIO(blob(mirror, src, path)), mode="r:gz") as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
            for m in members:
                key = m.name.split("/test/", 1)[1]
                handle = tar.extractfile(m)
                assert handle is not None
                r = json.loads(handle.read())
                answer = _BOXED.search(r.get("solution") or "")
                index = row_of.get(key)
                yield _row(
                    src.name, "numbers_changed" if not r.get("is_static") else "static",
                    r["problem"], answer.group(1) if answer else None, "math", index,
                    source_row=m.name, mapped_by="MATH file name via aiwaves-cn/agents" if index is not None else None,
                )  # fmt: skip


def build_math_perturb(mirror: Path, ix: Index) -> Iterator[Row]:
    src = SOURCES["math_perturb"]
    simple, hard = (jsonl(blob(mirror, src, p)) for p in src.paths)
    items = ix.math.with_row_index("i").filter(pl.col("level") == "Level 5")
    by_type = {t: list(zip(g["i"], g["problem"], strict=True)) for (t,), g in items.group_by("type")}
    mapping: dict[int, tuple[int, float]] = {}
    for r in simple:
        if r["original_split"] != "test":
            continue
        best = max(
            (difflib.SequenceMatcher(None, r["problem"], p, autojunk=False).ratio(), int(i))
            for i, p in by_type.get(r["type"], [])
        )
        mapping[r["problem_id"]] = (best[1], best[0])
    for kind, rows in (("simple", simple), ("hard", hard)):
        for n, r in enumerate(rows):
            if r["original_split"] != "test":
                continue
            index, ratio = mapping.get(r["problem_id"], (None, 0.0))
            yield _row(
                src.name, kind, r["problem"], r["answer"], "math", index, source_row=n,
                mapped_by="problem_id -> simple variant's best difflib ratio (same type, Level 5)",
                map_ratio=round(ratio, 4),
            )  # fmt: skip


BUILDERS: dict[str, Callable[..., Iterator[Row]]] = {
    "gsm_plus": build_gsm_plus,
    "lmsys_rephrase": build_lmsys,
    "mathcheck": build_mathcheck,
    "gsm_hard": build_gsm_hard,
    "gsm_symbolic_p2": build_gsm_symbolic,
    "functional_math": build_functional_math,
    "math_perturb": build_math_perturb,
}


def prepare(mirror: Path, data: Path, out: Path, gsm_plus_full: bool, gsm_symbolic_all: bool) -> None:
    ix = Index(data)
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"data": str(data), "sources": {}}
    for name, build in BUILDERS.items():
        src = SOURCES[name]
        extra = {"gsm_plus": {"full": gsm_plus_full}, "gsm_symbolic_p2": {"every": gsm_symbolic_all}}
        rows = list(build(mirror, ix, **extra.get(name, {})))
        mapped = sum(r["benchmark_index"] is not None for r in rows)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        path = out / f"{name}.jsonl"
        path.write_text(text, encoding="utf-8")
        kinds = collections.Counter(r["kind"] for r in rows)
        manifest["sources"][name] = {
            "repo": src.repo,
            "commit": src.commit,
            "paths": list(src.paths),
            "license": src.license,
            "rows": len(rows),
            "mapped": mapped,
            "items": len(
                {(r["benchmark"], r["benchmark_index"]) for r in rows if r["benchmark_index"] is not None}
            ),
            "kinds": dict(kinds),
            "mapped_by": dict(collections.Counter(r["mapped_by"] for r in rows)),
            **(
                {"min_map_ratio": min(r["map_ratio"] for r in rows)}
                if rows and "map_ratio" in rows[0]
                else {}
            ),
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
        }
        print(f"{name}: {len(rows)} rows, {mapped} mapped -> {path}", flush=True)
    manifest["mapping_sources"] = {
        "functional_math": {"repo": MATH_FILES.repo, "commit": MATH_FILES.commit, "path": MATH_FILES.paths[0]}
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
