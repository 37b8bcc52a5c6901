"""Benchmark: what each number format costs on this machine, and what the course chooses here.

    python benchmarks/precision.py                 # the CPU (or the device helpers.get_device() picks)
    python benchmarks/precision.py --steps 10      # more training steps per format

Prints the CPU model and its bf16-related flags, the precision ``helpers.course.precision.choose_precision``
picks and why, then, per format (float32, bfloat16, and float16 on CUDA):
- the peak matmul rate of square matrices (``peak_matmul_flops``, capped at ~2 s per format), and
- the median time of one training step of notebook 04's full-mode model (4 layers, 4 heads, 128
  dims, block 128, batch 12) under ``torch.autocast`` in that format, with a gradient scaler for fp16.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.course.precision import Precision, choose_precision, peak_matmul_flops
from helpers.course.runtime import get_device
from helpers.models.gpt import GPT, GPTConfig

BF16_FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f", "avx2", "fma")


def cpu_description() -> str:
    """Return 'model name; flags: the bf16-related ones present' from lscpu (or platform as a fallback)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    model = fields.get("Model name", "?").strip()
    flags = set(fields.get("Flags", "").split())
    present = [f for f in BF16_FLAGS if f in flags]
    absent = [f for f in BF16_FLAGS if f not in flags]
    return (f"{model}, {fields.get('CPU(s)', '?').strip()} CPUs; flags present: {' '.join(present) or 'none'}; "
            f"absent: {' '.join(absent) or 'none'}")


def step_ms(precision: Precision, device: torch.device, steps: int) -> float:
    """Return the median ms of a forward + backward + AdamW step of notebook 04's model in ``precision``."""
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=65, block_size=128, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
    model = GPT(cfg).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = precision.grad_scaler()
    x = torch.randint(0, 65, (12, 128), device=device)
    times = []
    for i in range(steps + 1):  # the first step warms up kernels and allocations
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with precision.autocast():
            _, loss = model(x, x)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per format (default 5)")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the course's choice)")
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else get_device()
    print(f"torch {torch.__version__}, device {device}")
    if device.type == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(device)}, compute capability "
              f"{torch.cuda.get_device_capability(device)}")
    print(f"CPU: {cpu_description()}")
    print(f"chosen: {choose_precision(device)}\n")
    names = ["float32", "bfloat16"] + (["float16"] if device.type == "cuda" else [])
    print(f"{'format':<10}{'peak matmul':>16}{'at n':>7}{'train step (04 model)':>24}")
    rows = {}
    for name in names:
        precision = Precision(name, device.type, "benchmark")
        if device.type == "cpu":
            rate, n = peak_matmul_flops(precision.dtype)
        else:
            rate, n = float("nan"), 0  # peak_matmul_flops times CPU tensors only
        rows[name] = step_ms(precision, device, args.steps)
        rate_text = f"{rate / 1e9:,.1f} GFLOP/s" if rate == rate else "–"
        print(f"{name:<10}{rate_text:>16}{n:>7}{rows[name]:>20.0f} ms", flush=True)
    for name in names[1:]:
        print(f"{name} step time / float32's: {rows[name] / rows['float32']:.2f}x")


if __name__ == "__main__":
    main()
