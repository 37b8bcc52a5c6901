"""Checkers for the exercises of notebook 08_finetune_poetry (see helpers.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


@exercise()
def check_lora_parameter_count(count_fn) -> None:
    """Check count_fn(shapes, r) = trainable LoRA parameters for weight matrices of (out, in) ``shapes``."""
    cases = [([(4, 3)], 1, 7), ([(576, 576), (192, 576)] * 30, 8, 460_800),  # SmolLM2-135M's q, v in 30 layers
             ([(768, 768)] * 4 * 12, 16, 1_179_648), ([(10, 2), (3, 7)], 4, 88)]
    for shapes, r, want in cases:
        got = count_fn(list(shapes), r)
        if not_done(got, "A is (r × in) and B is (out × r): add r·(in + out) for every adapted matrix"):
            return
        where = f"{len(shapes)} matrices, r={r}"
        assert isinstance(got, int) or float(got).is_integer(), f"{where}: give a whole number, got {got!r}"
        if got == want:
            continue
        assert got != sum(o * i for o, i in shapes), f"{where}: that is the size of the frozen matrices W, not of A and B"
        assert got != sum(r * o * i for o, i in shapes), f"{where}: A·B is never stored: count A (r × in) and B (out × r)"
        assert got != sum(r * max(o, i) * 2 for o, i in shapes) and got != sum(2 * r * i for _, i in shapes), \
            f"{where}: A has r·in entries and B has out·r: use each matrix's own in and out"
        raise AssertionError(f"{where}: expected {want:,}, got {got:,}: sum r·(in + out) over the matrices")
    passed("r·(in + out) per matrix: SmolLM2's q/v adapters at r=8 have 460,800 parameters")


@exercise()
def check_merge_lora(merge_fn) -> None:
    """Check merge_fn(W (out, in), A (r, in), B (out, r), alpha) = W + (alpha / r)·B·A."""
    import torch

    g = torch.Generator().manual_seed(8)
    for out_dim, in_dim, r, alpha in ((6, 5, 2, 4), (3, 8, 1, 1), (7, 7, 4, 16)):
        W, A, B = (torch.randn(out_dim, in_dim, generator=g), torch.randn(r, in_dim, generator=g),
                   torch.randn(out_dim, r, generator=g))
        got = merge_fn(W.clone(), A.clone(), B.clone(), alpha)
        if not_done(got, "W + (alpha / r) * (B @ A), with r = A.shape[0]"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == W.shape, \
            f"expected a tensor of W's shape {tuple(W.shape)}, got {described(got)}"
        want = W + (alpha / r) * (B @ A)
        if torch.allclose(got, want, atol=1e-5):
            continue
        assert not torch.allclose(got, W + B @ A, atol=1e-5), f"r={r}, alpha={alpha}: scale B·A by alpha / r"
        assert not torch.allclose(got, (alpha / r) * (B @ A), atol=1e-5), "add the change to W: W stays, B·A is added"
        assert not torch.allclose(got, W + r / alpha * (B @ A), atol=1e-5), "the scale is alpha / r, not r / alpha"
        raise AssertionError(f"r={r}, alpha={alpha}: expected W + (alpha / r)·B·A (B is out × r, A is r × in)")
    passed("merged: W + (alpha / r)·B·A, one matrix again, no extra cost when generating")
