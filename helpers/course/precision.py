"""The number format the matrix products run in, chosen per device: bfloat16, float16 or float32.

A low layer of the course machinery (it imports only ``helpers.course.runtime``): every training
loop resolves its precision here once, where a run starts, and hands it down.

Mixed precision keeps the weights, the optimizer's state and the loss in float32 and runs the big
matrix products of the forward pass in a 16-bit format under ``torch.autocast``, where the hardware
has fast units for it. Where it has none, 16-bit products are slower than float32, sometimes far
slower (a reference kernel instead of a tuned one), so the choice depends on the machine:

    CUDA, compute capability 8.0 and up (A100, L4, H100, RTX 30xx/40xx)  bfloat16: native tensor cores,
          float32's range, so no loss scaling
    CUDA 7.x (V100, T4 of Colab's free tier, RTX 20xx)   float16 autocast with a gradient scaler:
          fp16 tensor cores, but float16's small range needs the loss scaled up before backward
    CUDA 6.x and older                                     float32
    Apple MPS                                              float32 (see ``decide``)
    CPU   bfloat16 only where a short probe measures its matmul faster than float32 on this
          machine (Intel AMX, some Arm cores), else float32

``COURSE_DTYPE=float32|bfloat16|float16`` overrides the choice; ``COURSE_DTYPE=auto`` (or unset) chooses.
"""
from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass

from .runtime import get_device

DTYPE_ENV = "COURSE_DTYPE"
NAMES = ("float32", "bfloat16", "float16")
_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}
BF16_MIN_SPEEDUP = 1.25  # bf16 on a CPU must beat fp32 by this much to be worth its rounding


@dataclass(frozen=True)
class Precision:
    """A device's compute precision: ``name`` ("float32", "bfloat16", "float16") and ``why`` it was picked."""
    name: str
    device_type: str  # "cpu", "cuda", "mps"
    why: str

    @property
    def dtype(self):
        """Return the torch dtype of the matmuls (torch.float32 when autocast is off)."""
        import torch

        return getattr(torch, self.name)

    @property
    def needs_scaler(self) -> bool:
        """True for float16: its range is small enough that small gradients underflow unless scaled."""
        return self.name == "float16"

    def autocast(self):
        """Return the ``torch.autocast`` context for this precision (a no-op for float32)."""
        import torch

        if self.name == "float32":
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def grad_scaler(self):
        """Return a ``torch.amp.GradScaler``: active for float16, a pass-through otherwise."""
        import torch

        return torch.amp.GradScaler(self.device_type, enabled=self.needs_scaler)

    def __str__(self) -> str:
        return f"{self.name} ({self.why})"


def _parse(value: str, source: str) -> str:
    name = _ALIASES.get(value.strip().lower(), value.strip().lower())
    if name not in NAMES + ("auto",):
        raise ValueError(f"{source}={value!r} is not a precision: use auto, float32, bfloat16 or float16 "
                         f"(or fp32, bf16, fp16)")
    return name


def decide(device_type: str, cuda_capability: tuple[int, int] | None = None,
           cpu_bf16_speedup: float | None = None, override: str | None = None) -> Precision:
    """Return the Precision for a device from its facts (no measuring here; ``choose_precision`` measures).

    ``cuda_capability``: (major, minor) of a CUDA GPU; ``cpu_bf16_speedup``: bf16 matmul rate over
    fp32's on this CPU; ``override``: COURSE_DTYPE's value, if set.
    """
    if override and _parse(override, DTYPE_ENV) != "auto":
        return Precision(_parse(override, DTYPE_ENV), device_type, f"{DTYPE_ENV}={override} asked for it")
    if device_type == "cuda":
        major, minor = cuda_capability or (0, 0)
        gpu = f"GPU of compute capability {major}.{minor}"
        if major >= 8:
            return Precision("bfloat16", "cuda", f"{gpu}: native bf16 tensor cores")
        if major >= 7:
            return Precision("float16", "cuda", f"{gpu}: fp16 tensor cores but no bf16; "
                                                "autocast with a gradient scaler")
        return Precision("float32", "cuda", f"{gpu}: no 16-bit tensor cores")
    if device_type == "mps":
        # torch's MPS autocast is recent and float16 there needs a scaler; the course's models are
        # small enough that float32 is correct everywhere and costs little
        return Precision("float32", "mps", "Apple GPU: float32 is the reliable choice in torch's MPS backend")
    if device_type == "cpu":
        if cpu_bf16_speedup is not None and cpu_bf16_speedup >= BF16_MIN_SPEEDUP:
            return Precision("bfloat16", "cpu",
                             f"CPU with fast bf16: its matmul measured {cpu_bf16_speedup:.1f}x fp32's")
        measured = ("" if cpu_bf16_speedup is None
                    else f": its bf16 matmul measured {cpu_bf16_speedup:.2f}x fp32's speed")
        return Precision("float32", "cpu", f"CPU without fast bf16{measured}")
    return Precision("float32", device_type, f"no mixed precision on {device_type}")


def matmul_flops_per_s(dtype, n: int = 256, budget_s: float = 0.05) -> float:
    """Return the best rate (FLOP/s) of an (n, n) @ (n, n) matmul in ``dtype`` seen within ``budget_s``.

    One warm-up call, then timed calls until the budget is spent (at least one): ``2·n³`` FLOPs each.
    """
    import torch

    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b  # the first call allocates and picks a kernel
    best, spent = float("inf"), 0.0
    while spent < budget_s or best == float("inf"):
        t0 = time.perf_counter()
        a @ b
        took = time.perf_counter() - t0
        best, spent = min(best, took), spent + took
    return 2 * n ** 3 / best


def peak_matmul_flops(dtype, budget_s: float = 2.0, sizes=(256, 512, 1024, 2048)) -> tuple[float, int]:
    """Return (best FLOP/s, n): matmuls of growing size n, stopping before one would overrun ``budget_s``.

    Capped by time, not by repeats: where ``dtype`` is slow (bf16 without bf16 units) the probe stays
    small instead of spending minutes; where it is fast it reaches the large sizes that show the peak.
    """
    best, best_n, spent = 0.0, sizes[0], 0.0
    for n in sizes:
        t0 = time.perf_counter()
        rate = matmul_flops_per_s(dtype, n, budget_s=min(0.5, budget_s / 8))
        spent += time.perf_counter() - t0
        if rate > best:
            best, best_n = rate, n
        next_call = 8 * 2 * n ** 3 / rate  # doubling n costs 8x per call
        if spent + 3 * next_call > budget_s:
            break
    return best, best_n


@functools.lru_cache(maxsize=1)
def cpu_bf16_speedup() -> float:
    """Return how many times faster a bf16 matmul runs than an fp32 one on this CPU (measured once, ~0.1 s)."""
    import torch

    # One thread, and the best of three interleaved rounds: on a busy machine, threads that wait for
    # each other make both rates collapse to the same crawl, and a ratio near 1 would pick bf16 on a
    # CPU where it is 50x slower. One core's rates are what the units decide, busy or not.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fp32, bf16 = 0.0, 0.0
        for _ in range(3):
            fp32 = max(fp32, matmul_flops_per_s(torch.float32, 256, budget_s=0.01))
            bf16 = max(bf16, matmul_flops_per_s(torch.bfloat16, 256, budget_s=0.01))
    finally:
        torch.set_num_threads(threads)
    return bf16 / fp32


def choose_precision(device=None, verbose: bool = False) -> Precision:
    """Return the Precision for ``device`` (default: ``get_device()``), measuring what it must."""
    import torch

    device = torch.device(device) if device is not None else get_device()
    override = os.environ.get(DTYPE_ENV, "").strip() or None
    facts: dict = {}
    if override is None or _parse(override, DTYPE_ENV) == "auto":
        if device.type == "cuda":
            facts["cuda_capability"] = torch.cuda.get_device_capability(device)
        elif device.type == "cpu":
            facts["cpu_bf16_speedup"] = cpu_bf16_speedup()
    precision = decide(device.type, override=override, **facts)
    if verbose:
        print(f"precision: {precision}")
    return precision


def resolve(dtype: str | None, device) -> Precision:
    """Return the Precision a helper's ``dtype`` argument means on ``device``: "auto"/None chooses."""
    name = "auto" if dtype is None else _parse(str(dtype), "dtype")
    if name == "auto":
        return choose_precision(device)
    import torch

    return Precision(name, torch.device(device).type, "asked for by the caller")


def model_precision(model, dtype: str | None = "auto") -> Precision:
    """Return the Precision ``dtype`` means on the device of ``model``'s weights ("auto": chosen for it)."""
    return resolve(dtype, next(model.parameters()).device)
