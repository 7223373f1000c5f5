"""Local LoRA training throughput: optimizer steps/s and tokens/s of dq.local, threads pinned.

    python bench/bench_train.py [--data OUT] [--threads 2] [--steps 4] [--conditions attention_only,all_layer]

Batches of 8 rows in file order from a dq run folder's rendered/train.jsonl (default: the demo
corpus curated by rules/strict.toml with its planted copies dropped, built into a temp folder),
rendered with SmolLM2's chat template; each step is dq.local's forward-backward (sum-reduced
token NLL) plus an AdamW step, the same call the training driver makes. Prints the torch thread
count, per-condition steps/s and tokens/s (all tokens and loss tokens), and peak RSS; on CUDA
(bf16) too when a GPU is present. Two torch processes on two cores slow each other 25–40×
unless threads are pinned: pass --threads 1 when other work runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def demo_folder(tmp: Path) -> Path:
    """The demo corpus through rules/strict.toml (copies dropped): rendered/{train,val}.jsonl."""
    out = tmp / "demo"
    cmd = ["dq", "run", "--rules", str(ROOT / "rules" / "strict.toml"), "--out", str(out), "--quiet"]
    subprocess.run([*cmd, "--contamination-action", "drop"], check=True, stdout=subprocess.DEVNULL)
    return out


def datums_for(backend: Any, model: str, data: Path, rows: int) -> list[Any]:
    """The first ``rows`` rendered train rows as datums, with the backend's tokenizer."""
    from dq.render.renderers import ChatTemplateRenderer
    from dq.train.dataset import datums_of, read_rows
    from dq.train.datums import bind_renderer

    path = data / "rendered" / "train.jsonl"
    renderer = bind_renderer(ChatTemplateRenderer, model, backend.tokenizer())
    return datums_of(renderer, read_rows(path, rows), path)


def measure(args: argparse.Namespace, data: Path, condition: str, device: str) -> dict[str, Any]:
    """Warm-up steps, then ``args.steps`` timed optimizer steps of ``args.batch`` rows each."""
    import torch

    from dq.api.train import AdamParams, LoraTargets
    from dq.train.local_backend import LocalBackend

    backend = LocalBackend()
    with tempfile.TemporaryDirectory() as tmp:
        options = {"state_dir": tmp, "export_dir": tmp, "device": device, "micro_batch": args.micro_batch}
        backend.start(args.model, args.rank, LoraTargets.parse(condition), 0, options)
        total = args.batch * (args.warmup + args.steps)
        datums = datums_for(backend, args.model, data, total)
        batches = [datums[i : i + args.batch] for i in range(0, len(datums), args.batch)]
        adam = AdamParams(learning_rate=1e-4)
        for batch in batches[: args.warmup]:
            backend.train_step(batch, adam)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        tokens = loss_tokens = 0
        start = time.perf_counter()
        for batch in batches[args.warmup :]:
            result, _ = backend.train_step(batch, adam)
            tokens, loss_tokens = tokens + result.token_count, loss_tokens + int(result.weight)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        lengths = [d.token_count for b in batches[args.warmup :] for d in b]
        facts = backend.describe()
        backend.close()
    steps = len(batches) - args.warmup
    out = {"device": device, "dtype": facts["dtype"], "condition": condition, "steps": steps}
    out.update(seconds_per_step=round(seconds / steps, 3), steps_per_s=round(steps / seconds, 4))
    out.update(tokens_per_s=round(tokens / seconds, 1), loss_tokens_per_s=round(loss_tokens / seconds, 1))
    out.update(mean_tokens_per_row=round(sum(lengths) / len(lengths), 1), max_tokens_per_row=max(lengths))
    out.update(trainable_parameters=facts["trainable_parameters"])
    if device.startswith("cuda"):
        out["cuda_peak_bytes"] = torch.cuda.max_memory_allocated()
    return out


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="A dq run folder with rendered/ (default: the demo, built).")
    ap.add_argument("--model", default="smollm2-135m-offline")
    ap.add_argument("--threads", type=int, default=2, help="torch threads on CPU (1 beside other work).")
    ap.add_argument("--steps", type=int, default=4, help="Timed optimizer steps per condition.")
    ap.add_argument("--warmup", type=int, default=1, help="Untimed steps first.")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--micro-batch", type=int, default=None, help="Rows per forward (default dq.local's).")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--conditions", default="attention_only,all_layer")
    ap.add_argument("--devices", default="auto", help="cpu, cuda or auto (cpu, and cuda when present).")
    ap.add_argument("--json", type=Path, help="Also write the results here.")
    return ap.parse_args()


def main() -> int:
    args = parse()
    import torch

    torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.devices == "auto" else args.devices.split(",")
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, devices {devices}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or demo_folder(Path(tmp))
        results = [
            measure(args, data, condition, device)
            for device in devices
            for condition in args.conditions.split(",")
        ]
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for r in results:
        print(
            f"{r['device']:<5} {r['dtype']:<9} {r['condition']:<15} {r['seconds_per_step']:>8.3f} s/step "
            f"{r['steps_per_s']:>8.4f} steps/s {r['tokens_per_s']:>9.1f} tok/s "
            f"({r['loss_tokens_per_s']:.1f} loss tok/s; rows avg {r['mean_tokens_per_row']} tokens)"
        )
    print(f"peak RSS {peak_rss_mb:.0f} MB (threads {torch.get_num_threads()})")
    if args.json:
        report = {"threads": torch.get_num_threads(), "peak_rss_mb": round(peak_rss_mb), "results": results}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
