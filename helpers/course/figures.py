"""Key figures: the few numbers that sum up a notebook's run (a val loss, a perplexity, an accuracy).

    helpers.record("val_loss", history.val[-1], "nats/char")

prints ``key figure · val_loss = 1.634 nats/char`` and, in a notebook, attaches the figure to the
cell's output in a machine-readable form as well (MIME type ``application/vnd.gpt-course.figure+json``).
``python course.py run`` collects those into its table; the committed full-mode notebooks hold the
reference values a teacher compares a room's machines with.
"""
from __future__ import annotations

import math

FIGURE_MIME = "application/vnd.gpt-course.figure+json"


def _formatted(value, digits: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.{digits}f}" if abs(value) >= 10 ** -digits or value == 0 else f"{value:.3g}"


def record(name: str, value, unit: str = "", digits: int = 3):
    """Show ``name = value unit`` as a key figure of this notebook.

    Returns nothing, so a cell that ends with ``record(...)`` shows the figure's line and no stray value.
    """
    if not name.replace("_", "").isalnum():
        raise ValueError(f"figure name {name!r}: use letters, digits and underscores, e.g. 'val_loss'")
    value = value.item() if hasattr(value, "item") else value
    text = f"key figure · {name} = {_formatted(value, digits)}{' ' + unit if unit else ''}"
    payload = {"name": name, "value": value if isinstance(value, (int, float, str, bool)) else str(value),
               "unit": unit, "text": _formatted(value, digits)}
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None and hasattr(get_ipython(), "kernel"):
        display({"text/plain": text, FIGURE_MIME: payload}, raw=True)
    else:
        print(text)


def figures_of(notebook: dict) -> dict[str, dict]:
    """Return the key figures recorded in an executed notebook's JSON, by name (the last one wins)."""
    found = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(FIGURE_MIME)
            if payload:
                found[payload["name"]] = payload
    return found
