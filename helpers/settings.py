"""Run-time settings every notebook shares: quick mode, device, seeding, cache folder, versions.

Quick mode is one environment variable, ``COURSE_QUICK``. The test suite sets it so that every
notebook executes in a minute or two; a reader who leaves it unset gets the full-size run. A
notebook never branches on it itself: it asks ``settings(...)`` for its sizes and shows one path.
"""
from __future__ import annotations

import os
import platform
import random
import sys
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

QUICK_ENV = "COURSE_QUICK"  # set to 1 to shrink steps, sizes and sample counts (tests do)
CACHE_ENV = "COURSE_CACHE"  # where downloaded assets are kept (default: data/cache in the repo)
DEVICE_ENV = "COURSE_DEVICE"  # force a device, e.g. COURSE_DEVICE=cpu
# COURSE_DTYPE (helpers.precision) forces the compute precision, e.g. COURSE_DTYPE=float32

REPO_ROOT = Path(__file__).resolve().parent.parent


def is_quick() -> bool:
    """Return True when quick mode is on (COURSE_QUICK set to 1/true/yes)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def settings(quick: dict | None = None, **full) -> SimpleNamespace:
    """Return the run's sizes: ``full`` normally, with ``quick``'s values replacing them in quick mode.

    >>> cfg = settings(steps=2000, batch_size=32, quick=dict(steps=20))
    >>> cfg.steps  # 2000, or 20 when COURSE_QUICK=1
    """
    quick = dict(quick or {})
    unknown = set(quick) - set(full)
    if unknown:
        raise ValueError(f"quick= names {sorted(unknown)} that have no full-mode value; "
                         f"give each one as a keyword too, e.g. settings({sorted(unknown)[0]}=..., quick=...)")
    values = dict(full)
    if is_quick() and quick:
        values.update(quick)
        changes = ", ".join(f"{k} {full[k]} → {v}" for k, v in quick.items() if full[k] != v)
        print(f"Quick mode ({QUICK_ENV}=1): {changes}")
    return SimpleNamespace(**values)


def get_device(verbose: bool = False):
    """Return the best torch.device here: cuda, then mps, then cpu (COURSE_DEVICE overrides)."""
    import torch

    forced = os.environ.get(DEVICE_ENV)
    if forced:
        device = torch.device(forced)
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    if verbose:
        print(f"device: {device}")
    return device


def seed_everything(seed: int = 0) -> int:
    """Seed python's, numpy's and torch's random generators (all devices); return the seed."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
    try:
        import torch

        torch.manual_seed(seed)  # seeds cuda and mps generators too
    except ImportError:
        pass
    return seed


def cache_dir() -> Path:
    """Return the folder where downloaded assets are cached (created if missing)."""
    path = Path(os.environ.get(CACHE_ENV) or REPO_ROOT / "data" / "cache").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def versions(*packages: str) -> dict:
    """Print and return Python's and the given packages' versions, the device, its precision and the mode."""
    found = {"python": sys.version.split()[0], "platform": platform.platform(terse=True)}
    for name in ("torch", *packages):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    from .precision import choose_precision

    device = get_device()
    found["device"] = str(device)
    found["precision"] = str(choose_precision(device))
    found["mode"] = f"quick ({QUICK_ENV}=1)" if is_quick() else "full"
    width = max(map(len, found))
    for key, value in found.items():
        print(f"{key:<{width}}  {value}")
    return found
