"""Scaling laws on a laptop (notebook 06): power-law fits, Kaplan's parameter count, training compute
(FLOPs, PF-days, hours), a compute frontier, and a continuation task scored two ways (exact match vs
per-token).

    alpha, n_c = fit_line(n_params, val_losses)        # the least-squares line in log-log space
    fit = fit_power_law(n_params, val_losses)          # the same, as a PowerLaw L(N) = (N_c / N)^alpha
    fit = fit_power_law_offset(n_params, val_losses)   # L(N) = E + (N_c / N)^alpha
    fit(10 * n_params[-1])                             # the loss it predicts for a 10x larger model

numpy only: a power law is a straight line in log-log space, so the fits are least squares on logs
(for the offset E, a 1-D search over E around that line fit).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .sizing import training_flops

PF_DAY = 1e15 * 24 * 3600  # a petaflop/s-day: 10^15 FLOP/s sustained for a day = 8.64e19 FLOPs

@dataclass(frozen=True)
class PowerLaw:
    """L(N) = e + (n_c / N)^alpha; rmse is the fit's error in log L (≈ relative error) on its points."""
    alpha: float
    n_c: float
    e: float = 0.0
    rmse: float = 0.0

    def __call__(self, n):
        """Return the loss the law predicts at n (a number or an array)."""
        return self.e + (self.n_c / np.asarray(n, dtype=float)) ** self.alpha

    def __str__(self) -> str:
        offset = f"{self.e:.3f} + " if self.e else ""
        return f"L(N) = {offset}({self.n_c:.3g} / N)^{self.alpha:.3f}"


def _as_points(n, loss, min_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Return n and loss as float arrays after checking they can be fitted."""
    n, loss = np.asarray(n, dtype=float), np.asarray(loss, dtype=float)
    if n.ndim != 1 or n.shape != loss.shape:
        raise ValueError(f"n has shape {n.shape} and loss {loss.shape}: give two flat lists of the same length")
    if len(np.unique(n)) < min_points:
        raise ValueError(f"{len(np.unique(n))} distinct sizes: this fit needs at least {min_points}, "
                         f"train more model sizes")
    if not (np.isfinite(n).all() and np.isfinite(loss).all()) or (n <= 0).any() or (loss <= 0).any():
        raise ValueError("sizes and losses must be finite and > 0 (logs are taken): drop runs that diverged")
    return n, loss


def fit_line(n, y) -> tuple[float, float]:
    """Return (alpha, n_c) of y = (n_c / n)^alpha from the least-squares line log y = a + b·log n."""
    return _line_fit(np.log(np.asarray(n, dtype=float)), np.log(np.asarray(y, dtype=float)))


def _line_fit(log_n: np.ndarray, log_y: np.ndarray) -> tuple[float, float]:
    b, a = np.polyfit(log_n, log_y, 1)  # slope b = -alpha, intercept a = alpha·log n_c
    if abs(b) < 1e-12:
        raise ValueError("the loss does not change with size at all, so no power law fits: check the runs")
    alpha = -b
    return float(alpha), float(math.exp(a / alpha))  # a = alpha·log n_c


def _log_rmse(law: PowerLaw, n: np.ndarray, loss: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.log(law(n)) - np.log(loss)) ** 2)))


def fit_power_law(n, loss) -> PowerLaw:
    """Return the PowerLaw L = (n_c / n)^alpha fitted by least squares in log-log space."""
    n, loss = _as_points(n, loss, min_points=2)
    alpha, n_c = _line_fit(np.log(n), np.log(loss))
    law = PowerLaw(alpha, n_c)
    return PowerLaw(alpha, n_c, 0.0, _log_rmse(law, n, loss))


def fit_power_law_offset(n, loss, grid: int = 200, rounds: int = 4) -> PowerLaw:
    """Return the PowerLaw L = e + (n_c / n)^alpha, e in [0, min(loss)), with the least error in log L.

    For a fixed e the rest is a line fit of log(L - e) on log n, so we search e on a grid, then
    zoom in around the best value ``rounds`` times. e = 0 is a candidate: never worse than fit_power_law.
    """
    n, loss = _as_points(n, loss, min_points=3)
    log_n = np.log(n)
    best, lo, hi = None, 0.0, float(loss.min())
    for _ in range(rounds):
        candidates = np.linspace(lo, hi, grid, endpoint=False)
        for e in candidates:
            try:
                alpha, n_c = _line_fit(log_n, np.log(loss - e))
            except ValueError:
                continue
            law = PowerLaw(alpha, n_c, float(e))
            rmse = _log_rmse(law, n, loss)
            if np.isfinite(rmse) and (best is None or rmse < best.rmse):
                best = PowerLaw(alpha, n_c, float(e), rmse)
        if best is None:
            raise ValueError("no offset gave a finite fit: check that the losses fall with size")
        step = (hi - lo) / grid
        lo, hi = max(0.0, best.e - step), min(float(loss.min()), best.e + step)
    return best


def non_embedding_params(model) -> int:
    """Return the parameters outside the token/position embeddings (and an untied lm_head): Kaplan's N."""
    skip = ("wte.", "wpe.", "lm_head.")  # a tied lm_head is wte's matrix, listed once as wte.weight
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith(skip))


def training_pf_days(n_params: float, steps: int, batch_size: int, block_size: int) -> float:
    """Return the training compute in PF-days of ``steps`` steps of batch_size × block_size tokens."""
    return training_flops(n_params, steps * batch_size * block_size) / PF_DAY


def training_hours(n_params: float, n_tokens: float, peak_flops: float, mfu: float) -> float:
    """Return the hours 6·N·D FLOPs take on a machine of ``peak_flops`` FLOP/s used at a fraction ``mfu``."""
    return training_flops(n_params, n_tokens) / (peak_flops * mfu) / 3600


def frontier(compute, loss) -> tuple[np.ndarray, np.ndarray]:
    """Return (compute sorted, the lowest loss reached with at most that much compute so far)."""
    compute, loss = np.asarray(compute, dtype=float).ravel(), np.asarray(loss, dtype=float).ravel()
    if compute.shape != loss.shape or compute.size == 0:
        raise ValueError(f"{compute.size} compute values and {loss.size} losses: give one loss per compute value")
    order = np.argsort(compute, kind="stable")
    return compute[order], np.minimum.accumulate(loss[order])


@dataclass
class ContinuationScores:
    """Per-target results of a continuation task: correct (n, k) bool (greedy top-1), nll (n, k) nats."""
    correct: torch.Tensor
    nll: torch.Tensor

    def exact_match(self, k: int | None = None) -> float:
        """Return the fraction of targets whose first k characters (default all) are all predicted right."""
        k = self.correct.size(1) if k is None else k
        return self.correct[:, :k].all(dim=1).float().mean().item()

    def token_accuracy(self, k: int | None = None) -> float:
        """Return the fraction of the first k target characters (default all) predicted right."""
        k = self.correct.size(1) if k is None else k
        return self.correct[:, :k].float().mean().item()

    def token_loss(self, k: int | None = None) -> float:
        """Return the mean cross-entropy (nats per character) of the first k target characters."""
        k = self.correct.size(1) if k is None else k
        return self.nll[:, :k].mean().item()


@torch.no_grad()
def continuation_scores(model, ids: torch.Tensor, starts, context: int, k: int,
                        batch_size: int = 128) -> ContinuationScores:
    """Return ContinuationScores for predicting ids[s : s+k] from the ``context`` ids before each start s.

    One teacher-forced forward pass per window: position t's argmax is the greedy prediction of
    token t+1. Up to the first mistake this is exactly what greedy generation would produce, so
    "all k correct" is the exact-match verdict of greedy decoding.
    """
    starts = torch.as_tensor(starts, dtype=torch.long).ravel()
    if context < 1 or k < 1:
        raise ValueError(f"context={context}, k={k}: both must be at least 1")
    window = context + k - 1
    if hasattr(model, "config") and window > model.config.block_size:
        raise ValueError(f"context + k - 1 = {window} is longer than the model's block_size "
                         f"{model.config.block_size}: use a shorter context or fewer target characters")
    if len(starts) == 0 or starts.min() < context or starts.max() + k > len(ids):
        raise ValueError(f"each start needs {context} ids before it and {k} from it, inside 0..{len(ids)}: "
                         f"pick starts in [{context}, {len(ids) - k}]")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    offsets = torch.arange(-context, k)  # (context + k,): the window and its last target
    correct, nll = [], []
    for chunk in starts.split(batch_size):
        rows = ids[chunk[:, None] + offsets].to(device)  # (B, context + k)
        logits, _ = model(rows[:, :-1])  # (B, window, vocab)
        logits = logits[:, context - 1:].float()  # (B, k, vocab): the predictions of the k targets
        targets = rows[:, context:]  # (B, k)
        correct.append((logits.argmax(-1) == targets).cpu())
        nll.append(F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").cpu())
    model.train(was_training)
    return ContinuationScores(torch.cat(correct), torch.cat(nll))
