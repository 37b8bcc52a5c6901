"""Plots several notebooks share: attention heatmaps, loss curves, bar charts of distributions."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch


def _to_numpy(x) -> np.ndarray:
    return x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=float)


def plot_attention(weights, tokens: Sequence[str] | None = None, titles: Sequence[str] | None = None,
                   ncols: int = 4, cell: float = 2.8, suptitle: str | None = None):
    """Draw attention weights, (T, T) or one panel per head (H, T, T); return the figure.

    Rows are queries (the token that looks), columns keys (the tokens looked at).
    """
    w = _to_numpy(weights)
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or w.shape[1] != w.shape[2]:
        raise ValueError(f"attention weights must be (T, T) or (H, T, T), got shape {tuple(w.shape)}")
    heads, T = w.shape[0], w.shape[1]
    if tokens is not None and len(tokens) != T:
        raise ValueError(f"{len(tokens)} token labels for {T} positions: give one label per position")
    ncols = min(ncols, heads)
    nrows = math.ceil(heads / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols + 0.8, cell * nrows + 0.4), squeeze=False,
                             layout="constrained")  # keeps long token labels clear of the next panel
    for h, ax in enumerate(axes.flat):
        if h >= heads:
            ax.axis("off")
            continue
        image = ax.imshow(w[h], cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_title(titles[h] if titles else (f"head {h}" if heads > 1 else "attention"), fontsize=9)
        if tokens is not None and T <= 24:
            ax.set_xticks(range(T), tokens, rotation=90, fontsize=7)
            ax.set_yticks(range(T), tokens, fontsize=7)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_losses(history: Mapping[str, Sequence[float]], steps: Mapping[str, Sequence[int]] | None = None,
                title: str = "loss", log_y: bool = False, ax=None):
    """Draw one curve per named loss series (e.g. {'train': [...], 'val': [...]}); return the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in history.items():
        x = steps[name] if steps and name in steps else range(len(values))
        ax.plot(list(x), list(values), label=name, marker="o" if len(values) < 30 else None)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_distribution(probs, labels: Sequence[str], title: str = "", top: int = 20, ax=None,
                      min_prob: float = 0.005, kept=None, xlabel: str = "next token, most likely first"):
    """Draw a bar chart of the ``top`` largest probabilities with their labels; return the axes.

    Tokens below ``min_prob`` are left out (their bars would not show, and their labels would crowd
    the axis); the most likely one always stays. ``kept``, a boolean mask over the vocabulary (what a
    filter such as top-p keeps), draws the kept tokens in colour and the others in gray, with a legend.
    """
    p = _to_numpy(probs).ravel()
    order = [int(i) for i in np.argsort(-p, kind="stable")[:top] if p[i] >= min_prob] or [int(np.argmax(p))]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    colors = "C0"
    if kept is not None:
        kept = _to_numpy(kept).ravel().astype(bool)
        colors = ["C0" if kept[i] else "lightgray" for i in order]
    ax.bar(range(len(order)), p[order], color=colors)
    ax.set_xticks(range(len(order)), [labels[i] for i in order], rotation=90, fontsize=8)
    ax.set(xlabel=xlabel, ylabel="probability", title=title)
    if kept is not None:
        ax.legend(handles=[Patch(color="C0", label="kept"), Patch(color="lightgray", label="dropped")],
                  loc="upper right", fontsize=8)
    return ax
