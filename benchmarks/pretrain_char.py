"""Benchmark: our GPT and training loop on nanoGPT's CPU recipe for char-level tinyshakespeare.

    python benchmarks/pretrain_char.py                       # ours only
    python benchmarks/pretrain_char.py --nanogpt ~/nanoGPT   # nanoGPT's train.py too, same data

Rows: nanoGPT in float32 (what it runs on a CPU), ours in float32 (the like-for-like comparison),
and ours in the precision helpers.course.precision chooses for this CPU, when that is not float32 (bf16
where the CPU has fast bf16 units). Where the choice is float32 the two rows of ours are one run.

Recipe (nanoGPT's README, "I only have a macbook"): 4 layers, 4 heads, 128 dims, block 64, batch 12,
2000 iterations, lr 1e-3, 100 warmup iterations, cosine decay to 1e-4, dropout 0, no biases, AdamW
betas (0.9, 0.99), weight decay 0.1, gradient clip 1.0, evaluation on 20 batches every 250 steps.
Data: ../shared/data/tinyshakespeare.txt, first 90% train, last 10% val, a character vocabulary.
Prints the final val loss and the median milliseconds per iteration of each, side by side.

A machine's speed can drift by a quarter between minutes (it did on the Xeon of README's figures), so one
run of each decides little: ``--rounds N`` runs the pair N times, taking turns (nanoGPT first in odd rounds, ours
first in even ones), both from seed, seed+1, ... (nanoGPT's train.py fixes torch's seed at 1337: it runs
unedited, with torch.manual_seed shifted); the ratio reported is the median of the rounds' ratios.

A nanoGPT checkout is only run, never copied: the script writes the data files nanoGPT reads
into <checkout>/data/shakespeare_char_bench/ and its checkpoints into a temporary folder.
"""
from __future__ import annotations

import argparse
import pickle
import re
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.course.precision import choose_precision
from helpers.models.gpt import GPT, GPTConfig
from helpers.training.loop import TrainConfig, train

DATA = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
RECIPE = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, lr=1e-3, min_lr=1e-4,
              warmup=100, weight_decay=0.1, betas=(0.9, 0.99), grad_clip=1.0, eval_every=250, eval_batches=20)


def load_splits(path: Path):
    """Return (train ids, val ids, vocab size, characters) for the 90/10 character split of ``path``."""
    text = path.read_text(encoding="utf-8")
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(ids))
    return ids[:n], ids[n:], len(chars), chars


@torch.no_grad()
def full_val_loss(model, val_ids: torch.Tensor, block_size: int) -> float:
    """Return the mean loss over every non-overlapping block of the val split (no sampling noise)."""
    model.eval()
    n = (len(val_ids) - 1) // block_size
    x = val_ids[:n * block_size].view(n, block_size)
    y = val_ids[1:n * block_size + 1].view(n, block_size)
    losses = [model(x[i:i + 256], y[i:i + 256])[1].item() * len(x[i:i + 256]) for i in range(0, n, 256)]
    return sum(losses) / n


def nanogpt_into_ours(checkpoint: Path, vocab: int) -> GPT:
    """Return our GPT holding the weights of a nanoGPT checkpoint (the same architecture, other names)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["model"]
    renamed = {k.removeprefix("_orig_mod.").removeprefix("transformer.").replace("h.", "blocks.", 1): v
               for k, v in state.items()}
    model = GPT(GPTConfig(vocab_size=vocab, block_size=RECIPE["block_size"], n_layer=RECIPE["n_layer"],
                          n_head=RECIPE["n_head"], n_embd=RECIPE["n_embd"], bias=False))
    model.load_state_dict(renamed)
    return model


def run_ours(train_ids, val_ids, vocab: int, iters: int, dtype: str, seed: int = 1337) -> dict:
    """Train our GPT with our loop on the recipe; return val loss and step times."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=vocab, block_size=RECIPE["block_size"], n_layer=RECIPE["n_layer"],
                          n_head=RECIPE["n_head"], n_embd=RECIPE["n_embd"], dropout=0.0, bias=False))
    cfg = TrainConfig(steps=iters, **{k: v for k, v in RECIPE.items() if k not in ("n_layer", "n_head", "n_embd")},
                      dtype=dtype, seed=seed, progress=False)
    start = time.perf_counter()
    history = train(model, train_ids, val_ids, cfg, device=torch.device("cpu"))
    wall = time.perf_counter() - start
    tokens = cfg.batch_size * cfg.block_size
    ms = [1000 * tokens / t for t in history.tokens_per_s]
    return {"val": history.val[-1], "ms": statistics.median(ms), "wall": wall,
            "full_val": full_val_loss(model, val_ids, RECIPE["block_size"])}


# nanoGPT's train.py seeds torch with 1337 (+ its DDP rank); to train it from another seed without editing
# it, this runs train.py with torch.manual_seed shifted by the number given first
SHIFTED_SEED = """import runpy, sys, torch
shift, seed = int(sys.argv.pop(1)), torch.manual_seed
torch.manual_seed = lambda value: seed(value + shift)
sys.argv[0] = "train.py"
runpy.run_path("train.py", run_name="__main__")
"""


def run_nanogpt(checkout: Path, train_ids, val_ids, chars, iters: int, seed: int = 1337) -> dict:
    """Run nanoGPT's own train.py on the same split and recipe (from ``seed``); parse its log."""
    data_dir = checkout / "data" / "shakespeare_char_bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    train_ids.numpy().astype(np.uint16).tofile(data_dir / "train.bin")
    val_ids.numpy().astype(np.uint16).tofile(data_dir / "val.bin")
    with open(data_dir / "meta.pkl", "wb") as f:
        pickle.dump({"vocab_size": len(chars), "itos": dict(enumerate(chars)),
                     "stoi": {c: i for i, c in enumerate(chars)}}, f)
    with tempfile.TemporaryDirectory() as out:
        args = ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--dtype=float32",
                "--dataset=shakespeare_char_bench", f"--out_dir={out}", "--eval_iters=20", "--log_interval=1",
                "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128",
                f"--max_iters={iters}", f"--lr_decay_iters={iters}", "--dropout=0.0", "--eval_interval=250",
                "--always_save_checkpoint=True"]
        start = time.perf_counter()
        command = ["train.py"] if seed == 1337 else ["-c", SHIFTED_SEED, str(seed - 1337)]
        result = subprocess.run([sys.executable, *command, *args], cwd=checkout, capture_output=True, text=True)
        wall = time.perf_counter() - start
        full_val = None
        if (Path(out) / "ckpt.pt").exists():  # nanoGPT saves at its evaluations (every 250 iterations)
            full_val = full_val_loss(nanogpt_into_ours(Path(out) / "ckpt.pt", len(chars)), val_ids, 64)
    if result.returncode != 0:
        raise RuntimeError(f"nanoGPT's train.py failed: {result.stderr.strip().splitlines()[-1]}")
    log = result.stdout
    ms = [float(m) for it, m in re.findall(r"iter (\d+): loss [\d.]+, time ([\d.]+)ms", log) if int(it) > 0]
    vals = re.findall(r"step (\d+): train loss [\d.]+, val loss ([\d.]+)", log)
    return {"val": float(vals[-1][1]), "ms": statistics.median(ms), "wall": wall, "full_val": full_val}


def cpu_line() -> str:
    """Return the CPU's model name and the flags that decide its fast number formats (lscpu's view)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 "unknown CPU")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "amx_fp16")
    return f"{model}; flags: {' '.join(f for f in wanted if f in flags) or 'none of ' + ', '.join(wanted)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nanogpt", type=Path, help="a nanoGPT checkout to run beside ours")
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1, help="run the pair this many times, taking turns")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=1337, help="both programs' seed in round 1 (then seed+1, ...)")
    args = parser.parse_args()
    if args.rounds < 1 or args.iters < 1:
        parser.error("--rounds and --iters must be at least 1")
    train_ids, val_ids, vocab, chars = load_splits(args.data)
    chosen = choose_precision(torch.device("cpu"))
    print(f"tinyshakespeare: {len(train_ids):,} train / {len(val_ids):,} val characters, vocab {vocab}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"CPU: {cpu_line()}")
    print(f"precision chosen for this CPU: {chosen}")
    rows = []  # (round, name, result)
    for r in range(1, args.rounds + 1):
        seed = args.seed + r - 1
        runs = [("ours (float32)", partial(run_ours, train_ids, val_ids, vocab, args.iters, "float32", seed))]
        if args.nanogpt:
            nano = ("nanoGPT (float32)", partial(run_nanogpt, args.nanogpt.resolve(), train_ids, val_ids, chars,
                                                              args.iters, seed))
            runs = [nano, *runs] if r % 2 else [*runs, nano]
        if chosen.name != "float32":
            runs.append((f"ours ({chosen.name}, chosen)",
                         partial(run_ours, train_ids, val_ids, vocab, args.iters, chosen.name, seed)))
        for name, run in runs:
            print(f"round {r}: running {name} ...", flush=True)
            rows.append((r, name, run()))
    print(f"\n{'round':<7}{'':<26}{'val loss':>10}{'full val':>10}{'ms/iter (median)':>18}{'wall s':>9}")
    for r, name, res in rows:
        full = "n/a" if res["full_val"] is None else f"{res['full_val']:.4f}"
        print(f"{r:<7}{name:<26}{res['val']:>10.4f}{full:>10}{res['ms']:>18.2f}{res['wall']:>9.1f}")
    print("val loss: the recipe's estimate (20 random batches at the last step); full val: every one of the "
          f"{len(val_ids):,} val characters, the same code for both models")
    if chosen.name == "float32":
        print("the precision chosen here is float32, so 'ours (float32)' is also ours in the chosen precision")
    by_round = [{name: res for rr, name, res in rows if rr == r} for r in range(1, args.rounds + 1)]
    if args.nanogpt:
        ratios = [got["ours (float32)"]["ms"] / got["nanoGPT (float32)"]["ms"] for got in by_round]
        ours_val = [got["ours (float32)"]["val"] for got in by_round]
        their_val = [got["nanoGPT (float32)"]["val"] for got in by_round]
        ours_full = [got["ours (float32)"]["full_val"] for got in by_round]
        their_full = [got["nanoGPT (float32)"]["full_val"] for got in by_round]
        print(f"\nlike for like, ours / nanoGPT ms per iteration, both float32, each round: "
              f"{', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f} (goal <= 0.80)")
        print(f"val loss (20 batches), each round: ours {', '.join(f'{x:.4f}' for x in ours_val)}, nanoGPT "
              f"{', '.join(f'{x:.4f}' for x in their_val)}")
        if None not in their_full:
            print(f"val loss (whole val split), mean of the rounds: ours {statistics.mean(ours_full):.4f}, "
                  f"nanoGPT {statistics.mean(their_full):.4f}")
        if chosen.name != "float32":
            fast = [got[f"ours ({chosen.name}, chosen)"]["ms"] / got["nanoGPT (float32)"]["ms"]
                    for got in by_round]
            print(f"ours in {chosen.name} / nanoGPT in float32, median of the rounds: {statistics.median(fast):.2f}")


if __name__ == "__main__":
    main()
