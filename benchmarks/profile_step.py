"""Where one training step's time goes: nanoGPT's CPU recipe on our GPT, phase by phase.

    python benchmarks/profile_step.py            # median ms per phase over 250 steps, after 50 warm-up steps
    python benchmarks/profile_step.py --ops      # also torch.profiler's table of the heaviest operators
    python benchmarks/profile_step.py --nanogpt PATH   # also our model against nanoGPT's model.py, interleaved

Phases: drawing the batch, forward, zero_grad, backward, gradient clipping, the optimizer step, with
AdamW's default on a CPU (a Python loop over the tensors, what nanoGPT's train.py gets there) and with its
fused kernel (what helpers.training.loop.configure_optimizer picks on a CPU or a CUDA GPU). Same model and
recipe as benchmarks/pretrain_char.py (4 layers, 128 dims, block 64, batch 12, float32), the same batches for
both optimizers.

``--nanogpt PATH`` imports the model.py of a nanoGPT checkout (run, never copied) and times its forward +
backward against ours on the same batches, taking turns step by step, so both see the same machine: the
two models do the same arithmetic, and this shows how much of a step is left for a training loop to win.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from pretrain_char import DATA, RECIPE, cpu_line, load_splits

from helpers.models.gpt import GPT, GPTConfig
from helpers.training.loop import get_batch

PHASES = ("batch", "forward", "zero_grad", "backward", "clip", "optimizer", "step")


def model_and_optimizer(vocab: int, fused: bool):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=vocab, block_size=RECIPE["block_size"], n_layer=RECIPE["n_layer"],
                          n_head=RECIPE["n_head"], n_embd=RECIPE["n_embd"], dropout=0.0, bias=False))
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": RECIPE["weight_decay"]},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return model, torch.optim.AdamW(groups, lr=RECIPE["lr"], betas=RECIPE["betas"], fused=fused)


def phases(train_ids, vocab: int, steps: int = 300, warmup: int = 50) -> dict[str, dict[str, float]]:
    """Return {optimizer: median milliseconds of each phase of a training step}, for AdamW's CPU default
    and its fused kernel: two models, the same batches, taking turns step by step (the machine drifts)."""
    runs = {"AdamW CPU default": model_and_optimizer(vocab, fused=False),
            "AdamW fused": model_and_optimizer(vocab, fused=True)}
    batches = {label: torch.Generator().manual_seed(1) for label in runs}  # the same batches for both
    times = {label: {name: [] for name in PHASES} for label in runs}
    for step in range(steps):
        order = list(runs.items())
        for label, (model, optimizer) in order if step % 2 else order[::-1]:  # who goes first alternates
            t = [time.perf_counter()]
            x, y = get_batch(train_ids, RECIPE["batch_size"], RECIPE["block_size"], batches[label], "cpu")
            t.append(time.perf_counter())
            _, loss = model(x, y)
            t.append(time.perf_counter())
            optimizer.zero_grad(set_to_none=True)
            t.append(time.perf_counter())
            loss.backward()
            t.append(time.perf_counter())
            torch.nn.utils.clip_grad_norm_(model.parameters(), RECIPE["grad_clip"])
            t.append(time.perf_counter())
            optimizer.step()
            t.append(time.perf_counter())
            if step >= warmup:
                for name, a, b in zip(PHASES, t, t[1:]):
                    times[label][name].append(1000 * (b - a))
                times[label]["step"].append(1000 * (t[-1] - t[0]))
    return {label: {name: statistics.median(values) for name, values in row.items()} for label, row in times.items()}


def against_nanogpt(checkout: Path, train_ids, vocab: int, steps: int = 350, warmup: int = 50) -> tuple[float, float]:
    """Return the median ms of forward + backward for our GPT and nanoGPT's, same batches, taking turns."""
    if not (checkout / "model.py").exists():
        raise SystemExit(f"{checkout} has no model.py: give the folder of a nanoGPT checkout")
    sys.path.insert(0, str(checkout))
    import model as nanogpt  # nanoGPT's model.py

    torch.manual_seed(0)
    ours, _ = model_and_optimizer(vocab, fused=True)
    theirs = nanogpt.GPT(nanogpt.GPTConfig(vocab_size=vocab, block_size=RECIPE["block_size"],
                                           n_layer=RECIPE["n_layer"], n_head=RECIPE["n_head"],
                                           n_embd=RECIPE["n_embd"], dropout=0.0, bias=False))
    batches = torch.Generator().manual_seed(1)
    times = {"ours": [], "theirs": []}
    for step in range(steps):
        x, y = get_batch(train_ids, RECIPE["batch_size"], RECIPE["block_size"], batches, "cpu")
        pair = [("ours", ours), ("theirs", theirs)]
        for name, model in pair if step % 2 else pair[::-1]:  # who goes first alternates
            start = time.perf_counter()
            model(x, y)[1].backward()
            elapsed = time.perf_counter() - start
            model.zero_grad(set_to_none=True)
            if step >= warmup:
                times[name].append(1000 * elapsed)
    return statistics.median(times["ours"]), statistics.median(times["theirs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", action="store_true", help="also print torch.profiler's heaviest operators")
    parser.add_argument("--nanogpt", type=Path, help="a nanoGPT checkout whose model.py to time beside ours")
    args = parser.parse_args()
    train_ids, _, vocab, _ = load_splits(DATA)
    print(f"CPU: {cpu_line()}; torch {torch.__version__}, {torch.get_num_threads()} threads, float32")
    rows = phases(train_ids, vocab)
    print(f"\n{'median ms':<16}" + "".join(f"{name:>11}" for name in PHASES))
    for label, row in rows.items():
        print(f"{label:<16}" + "".join(f"{row[name]:>11.2f}" for name in PHASES))
    if args.ops:
        from torch.profiler import ProfilerActivity, profile

        model, optimizer = model_and_optimizer(vocab, fused=True)
        batches = torch.Generator().manual_seed(1)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(50):
                x, y = get_batch(train_ids, RECIPE["batch_size"], RECIPE["block_size"], batches, "cpu")
                _, loss = model(x, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), RECIPE["grad_clip"])
                optimizer.step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    if args.nanogpt:
        ours, theirs = against_nanogpt(args.nanogpt.resolve(), train_ids, vocab)
        print(f"\nforward + backward, median ms over 300 steps taken in turns: ours {ours:.2f}, "
              f"nanoGPT's model.py {theirs:.2f} (ratio {ours / theirs:.2f})")


if __name__ == "__main__":
    main()
