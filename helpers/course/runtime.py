"""Where and how a run happens: the COURSE_ environment variables, the repository's folder, the
cache folder, the device, seeding, and whether quick mode is on.

The lowest layer of the course machinery: it imports nothing of ours, so every package may use it
(``helpers.course.notebook.settings`` turns quick mode into a notebook's sizes).
"""
from __future__ import annotations

import os
import random
from pathlib import Path

QUICK_ENV = "COURSE_QUICK"  # set to 1 to shrink steps, sizes and sample counts (tests do)
CACHE_ENV = "COURSE_CACHE"  # where downloaded assets are kept (default: data/cache in the repo)
DEVICE_ENV = "COURSE_DEVICE"  # force a device, e.g. COURSE_DEVICE=cpu
# COURSE_DTYPE (helpers.course.precision) forces the compute precision, e.g. COURSE_DTYPE=float32

REPO_ROOT = Path(__file__).resolve().parents[2]  # helpers/course/runtime.py -> the repository


def is_quick() -> bool:
    """Return True when quick mode is on (COURSE_QUICK set to 1/true/yes)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


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
