"""Checkers for the exercises of notebook 08_finetune_poetry (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


@exercise(fallback="helpers.models.lora.lora_parameter_count")
def check_lora_parameter_count(count_fn) -> None:
    """Check count_fn(shapes, r) = trainable LoRA parameters for weight matrices of (out, in) ``shapes``."""
    cases = [([(4, 3)], 1, 7), ([(576, 576), (192, 576)] * 30, 8, 460_800),  # SmolLM2-135M's q, v in 30 layers
             ([(768, 768)] * 4 * 12, 16, 1_179_648), ([(10, 2), (3, 7)], 4, 88)]
    for shapes, r, want in cases:
        got = count_fn(list(shapes), r)
        if not_done(got, "take one (out, in) matrix first: how many entries do its A and B have?"):
            return
        where = f"{len(shapes)} matrices, r={r}"
        assert isinstance(got, int) or float(got).is_integer(), f"{where}: give a whole number, got {got!r}"
        if got == want:
            continue
        assert got != sum(o * i for o, i in shapes), \
            f"{where}: that is the size of the frozen matrices W, not of A and B"
        assert got != sum(r * o * i for o, i in shapes), \
            f"{where}: A·B is never stored: count A (r × in) and B (out × r)"
        assert got != sum(r * max(o, i) * 2 for o, i in shapes) and got != sum(2 * r * i for _, i in shapes), \
            f"{where}: A has r·in entries and B has out·r: use each matrix's own in and out"
        raise AssertionError(f"{where}: expected {want:,}, got {got:,}: count A and B of each matrix with its own "
                             f"in and out, and add over all the matrices")
    passed("r·(in + out) per matrix: SmolLM2's q/v adapters at r=8 have 460,800 parameters")


@exercise(fallback="helpers.models.lora.merge_lora")
def check_merge_lora(merge_fn) -> None:
    """Check merge_fn(W (out, in), A (r, in), B (out, r), alpha) = W + (alpha / r)·B·A."""
    import torch

    g = torch.Generator().manual_seed(8)
    for out_dim, in_dim, r, alpha in ((6, 5, 2, 4), (3, 8, 1, 1), (7, 7, 4, 16)):
        W, A, B = (torch.randn(out_dim, in_dim, generator=g), torch.randn(r, in_dim, generator=g),
                   torch.randn(out_dim, r, generator=g))
        got = merge_fn(W.clone(), A.clone(), B.clone(), alpha)
        if not_done(got, "write the adapted layer's output as one matrix times x: which matrix is it?"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == W.shape, \
            f"expected a tensor of W's shape {tuple(W.shape)}, got {described(got)}"
        want = W + (alpha / r) * (B @ A)
        if torch.allclose(got, want, atol=1e-5):
            continue
        assert not torch.allclose(got, W + B @ A, atol=1e-5), f"r={r}, alpha={alpha}: scale B·A by alpha / r"
        assert not torch.allclose(got, (alpha / r) * (B @ A), atol=1e-5), "add the change to W: W stays, B·A is added"
        assert not torch.allclose(got, W + r / alpha * (B @ A), atol=1e-5), "the scale is alpha / r, not r / alpha"
        raise AssertionError(f"r={r}, alpha={alpha}: expected the statement's W' (B is out × r, A is r × in, and "
                             f"r is read from their shapes)")
    passed("merged: W + (alpha / r)·B·A, one matrix again, no extra cost when generating")


@exercise(fallback="helpers.models.lora.LoRALinear")
def check_lora_linear(lora_class) -> None:
    """Check lora_class(base: nn.Linear, r, alpha) against peft's LoRA layer on the same weights."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(9)
    for in_dim, out_dim, r, alpha in ((5, 3, 2, 4), (8, 12, 4, 16), (6, 6, 1, 1)):
        base = nn.Linear(in_dim, out_dim)
        with torch.no_grad():
            base.weight.copy_(torch.randn(out_dim, in_dim, generator=g))
            base.bias.copy_(torch.randn(out_dim, generator=g))
        layer = lora_class(_copy(base), r, alpha)
        x = torch.randn(2, 3, in_dim, generator=g)  # (B, T, in)
        where = f"LoRALinear(Linear({in_dim}, {out_dim}), r={r}, alpha={alpha})"
        try:
            with torch.no_grad():
                out = layer(x)
        except RuntimeError:
            _check_shapes(layer, where, r, in_dim, out_dim)
            raise
        if not_done(out, "start with __init__: the statement lists what it keeps (the frozen base, A and B with "
                         "their shapes and starting values); forward comes last"):
            return
        A, B = _check_shapes(layer, where, r, in_dim, out_dim)
        trained = {id(p) for p in layer.parameters() if p.requires_grad}
        assert trained == {id(A), id(B)}, \
            f"{where}: only A and B train: freeze the wrapped Linear (requires_grad_(False)) and add nothing else"
        assert bool((B == 0).all()), \
            f"{where}: B starts at zero, so that the adapted layer starts as the pretrained one"
        assert bool((A != 0).any()), (f"{where}: A starts random (e.g. nn.init.kaiming_uniform_): "
                                      f"with A and B both zero no gradient reaches either")
        with torch.no_grad():
            assert isinstance(out, torch.Tensor) and out.shape == (2, 3, out_dim), \
                f"{where}: for x of shape (2, 3, {in_dim}) return (2, 3, {out_dim}), got {described(out)}"
            assert torch.allclose(out, base(x), atol=1e-5), f"{where}: with B = 0 the output must be base(x)"
            theirs = _peft_lora(_copy(base), r, alpha)
            A.copy_(torch.randn(r, in_dim, generator=g))
            B.copy_(torch.randn(out_dim, r, generator=g))
            theirs.lora_A["default"].weight.copy_(A)
            theirs.lora_B["default"].weight.copy_(B)
            got, want = layer(x), theirs(x)
            change = (x @ A.T) @ B.T
            if not torch.allclose(got, want, atol=1e-4):
                assert not torch.allclose(got, base(x) + change, atol=1e-4), f"{where}: scale B·A·x by alpha / r"
                assert not torch.allclose(got, base(x) + r / alpha * change, atol=1e-4), \
                    f"{where}: the scale is alpha / r, not r / alpha"
                assert not torch.allclose(got, alpha / r * change, atol=1e-4), \
                    f"{where}: add the change to the frozen layer's output base(x)"
                raise AssertionError(f"{where}: the output differs from peft's LoRA layer: check forward against "
                                     f"the statement, term by term")
        layer(x).sum().backward()
        assert A.grad is not None and B.grad is not None, f"{where}: no gradient reached A and B: use them in forward"
    passed("your LoRA layer computes what peft's does on the same weights: W·x + (alpha / r)·B·A·x, B = 0 at the start")


def _check_shapes(layer, where: str, r: int, in_dim: int, out_dim: int):
    """Return the layer's (A, B) once they are nn.Parameters of shapes (r, in) and (out, r)."""
    from torch import nn

    A, B = getattr(layer, "A", None), getattr(layer, "B", None)
    assert isinstance(A, nn.Parameter) and isinstance(B, nn.Parameter), \
        f"{where}: keep the two matrices as nn.Parameter attributes self.A and self.B"
    assert A.shape == (r, in_dim) and B.shape == (out_dim, r), \
        f"{where}: A should be (r, in) = {(r, in_dim)} and B (out, r) = {(out_dim, r)}, " \
        f"got {tuple(A.shape)} and {tuple(B.shape)}"
    return A, B


def _copy(linear):
    import copy

    return copy.deepcopy(linear)


def _peft_lora(base, r: int, alpha: float):
    """Return peft's LoRA wrapper of the nn.Linear ``base`` (rank r, scale alpha / r)."""
    import warnings

    from peft import LoraConfig, inject_adapter_in_model
    from torch import nn

    holder = nn.Module()
    holder.proj = base
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inject_adapter_in_model(LoraConfig(r=r, lora_alpha=alpha, target_modules=["proj"]), holder)
    return holder.proj
