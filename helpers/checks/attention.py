"""Checkers for the exercises of notebook 01_attention (see helpers.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


def described(x) -> str:
    """Return 'Tensor (2, 3)' or the type's name, to say what a learner's function gave back."""
    return f"{type(x).__name__} {tuple(x.shape)}" if hasattr(x, "shape") else type(x).__name__


@exercise()
def check_softmax(softmax_fn) -> None:
    """Check softmax_fn(x) against torch.softmax over the last axis, scores near 1000 included."""
    import torch

    g = torch.Generator().manual_seed(1)
    inputs = [torch.tensor([[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 5.0]]),
              50 * torch.randn(2, 3, 5, generator=g)]
    for x in inputs:
        got = softmax_fn(x.clone())
        if not_done(got, "subtract each row's max before exp, then divide by the row's sum"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
            f"expected a tensor of shape {tuple(x.shape)}, got {described(got)}"
        assert torch.isfinite(got).all(), \
            "some weights are inf or NaN: exp(1000) overflows, so subtract the row's max first " \
            "(x.max(dim=-1, keepdim=True))"
        assert torch.allclose(got.sum(-1), torch.ones(x.shape[:-1]), atol=1e-5), \
            "rows must sum to 1: divide by the sum over the last axis (dim=-1, keepdim=True)"
        assert torch.allclose(got, torch.softmax(x, dim=-1), atol=1e-6), \
            "finite and summing to 1, but not the softmax: use exp(x - max) / sum(exp(x - max)) along the last axis"
    passed("softmax matches torch.softmax and stays finite for scores near 1000")


@exercise()
def check_attend_one(attend_fn) -> None:
    """Check attend_fn(q (D,), K (S, D), V (S, Dv)) returns the attention output (Dv,) for one query."""
    import math

    import torch

    g = torch.Generator().manual_seed(2)
    q, K, V = torch.randn(8, generator=g), torch.randn(5, 8, generator=g), torch.randn(5, 3, generator=g)
    got = attend_fn(q, K, V)
    if not_done(got, "scores = K @ q / sqrt(D), weights = softmax(scores), output = weights @ V"):
        return
    assert isinstance(got, torch.Tensor) and got.shape == (3,), \
        f"expected a tensor of shape (3,) (one value-sized vector), got {described(got)}"
    unscaled = torch.softmax(K @ q, dim=0) @ V
    right = torch.softmax(K @ q / math.sqrt(8), dim=0) @ V
    assert not torch.allclose(got, unscaled, atol=1e-5), "almost: divide the scores by sqrt(D), D = len(q)"
    assert not torch.allclose(got, V.mean(0), atol=1e-5), \
        "that is the plain mean of V: weight the rows by softmax(scores)"
    assert torch.allclose(got, right, atol=1e-5), \
        "not the attention output: scores = K @ q / sqrt(D) (one per key), weights = softmax(scores), " \
        "output = weights @ V"
    passed("one query's attention output is right")


@exercise()
def check_causal_mask(mask_fn) -> None:
    """Check mask_fn(T) returns the (T, T) bool causal mask, True where query i may see key j <= i."""
    import torch

    for T in (1, 3, 6):
        got = mask_fn(T)
        if not_done(got, "start from torch.ones(T, T, dtype=torch.bool) and keep the lower triangle"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == (T, T), \
            f"mask_fn({T}) should be a ({T}, {T}) tensor, got {described(got)}"
        assert got.dtype == torch.bool, \
            f"got dtype {got.dtype}: give a bool mask (True = may attend), e.g. with .bool()"
        want = torch.ones(T, T, dtype=torch.bool).tril()
        assert T == 1 or not torch.equal(got, want.T), \
            "transposed: row i is query i, and it may see columns 0..i (on and below the diagonal)"
        assert not torch.equal(got, want.tril(-1)), "the diagonal must be True: each token may look at itself"
        assert torch.equal(got, want), "query i (row i) may see keys 0..i (True) and none after it (False)"
    passed("causal mask is right")
