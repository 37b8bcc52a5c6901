"""What a notebook calls first: ``versions()`` (what it runs on) and ``settings(...)`` (its sizes).

Quick mode is one environment variable, ``COURSE_QUICK``. The test suite sets it so that every
notebook executes in a minute or two; a reader who leaves it unset gets the full-size run. A
notebook never branches on it itself: it asks ``settings(...)`` for its sizes and shows one path.
"""
from __future__ import annotations

import platform
import sys
from importlib import metadata
from types import SimpleNamespace

from .messages import say
from .precision import choose_precision
from .runtime import QUICK_ENV, get_device, is_quick


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
        print(say(f"Quick mode ({QUICK_ENV}=1): {changes}"))
    return SimpleNamespace(**values)


def versions(*packages: str) -> dict:
    """Print and return Python's and the given packages' versions, the device, its precision and the mode."""
    found = {"python": sys.version.split()[0], "platform": platform.platform(terse=True)}
    for name in ("torch", *packages):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    device = get_device()
    found["device"] = str(device)
    found["precision"] = str(choose_precision(device))
    found["mode"] = f"quick ({QUICK_ENV}=1)" if is_quick() else "full"
    width = max(map(len, found))
    for key, value in found.items():
        print(f"{key:<{width}}  {value}")
    return found
