"""Checkers for the exercises of notebook 02_gpt_block (see helpers.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed


@exercise()
def check_layer_norm(layer_norm_fn) -> None:
    """Check layer_norm_fn(x, weight, bias, eps) against torch's layer norm over the last axis."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(3)
    x = 3 * torch.randn(2, 4, 8, generator=g) + 5
    weight, bias = torch.randn(8, generator=g), torch.randn(8, generator=g)
    got = layer_norm_fn(x, weight, bias, 1e-5)
    if not_done(got, "subtract the mean of the last axis, divide by sqrt(variance + eps), then * weight + bias"):
        return
    assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
        f"expected a tensor of shape {tuple(x.shape)}, got {type(got).__name__} {tuple(getattr(got, 'shape', ()))}"
    mean, var = x.mean(-1, keepdim=True), x.var(-1, keepdim=True, unbiased=True)
    assert not torch.allclose(got, (x - mean) / torch.sqrt(var + 1e-5) * weight + bias, atol=1e-5), \
        "almost: use the biased variance (divide by C, not C - 1): x.var(-1, keepdim=True, unbiased=False)"
    assert not torch.allclose(got, F.layer_norm(x, (8,), eps=1e-5), atol=1e-5), \
        "normalised, but not scaled and shifted: multiply by weight and add bias at the end"
    assert torch.allclose(got, F.layer_norm(x, (8,), weight, bias, 1e-5), atol=1e-5), \
        "not LayerNorm: normalise each vector over its last axis (dim=-1, keepdim=True), then * weight + bias"
    passed("layer_norm matches torch.nn.functional.layer_norm")


@exercise()
def check_param_count(count_fn) -> None:
    """Check count_fn(n_layer, n_embd, vocab_size, block_size) against real GPT-2-style models."""
    from helpers.model import GPT, GPTConfig

    for n_layer, n_embd, vocab, block in ((1, 8, 11, 5), (2, 16, 30, 7), (3, 24, 50, 13)):
        got = count_fn(n_layer, n_embd, vocab, block)
        if not_done(got, "add up embeddings, 12·C² weights + biases + 2 LayerNorms per block, and ln_f"):
            return
        config = GPTConfig(vocab_size=vocab, block_size=block, n_layer=n_layer, n_head=1, n_embd=n_embd)
        want = GPT(config).num_params()
        shape = f"n_layer={n_layer}, n_embd={n_embd}, vocab_size={vocab}, block_size={block}"
        assert got != want + vocab * n_embd, \
            f"{shape}: you counted lm_head, but it is the token embedding matrix again (weights are tied)"
        assert got != want - block * n_embd, f"{shape}: add the learned position table, block_size × n_embd"
        assert got == want, f"{shape}: got {got}, the model has {want} ({got - want:+d}); check biases and LayerNorms"
    passed("your count matches GPT.num_params() on three shapes")


@exercise()
def check_forward_flops(flops_fn) -> None:
    """Check flops_fn(n_layer, n_embd, vocab_size): the Linear layers' forward FLOPs per token, as torch counts."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from helpers.model import GPT, GPTConfig

    for n_layer, n_embd, vocab in ((1, 8, 11), (2, 16, 30), (3, 24, 50)):
        got = flops_fn(n_layer, n_embd, vocab)
        if not_done(got, "a Linear of an (in, out) weight does in·out multiply-adds per token, i.e. 2·in·out FLOPs"):
            return
        T = 4
        model = GPT(GPTConfig(vocab_size=vocab, block_size=T, n_layer=n_layer, n_head=1, n_embd=n_embd))
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, T, dtype=torch.long))
        want = counter.get_total_flops() // T  # scaled_dot_product_attention is not counted on CPU
        shape = f"n_layer={n_layer}, n_embd={n_embd}, vocab_size={vocab}"
        assert got != want // 2, f"{shape}: a multiply-add is 2 FLOPs; you counted 1 per weight"
        assert got != want - 2 * vocab * n_embd, f"{shape}: add the lm_head, the biggest single matmul here"
        assert got == want, f"{shape}: got {got}, torch counts {want} ({got - want:+d}); count all four Linears per block"
    passed("your FLOP count matches torch's FlopCounterMode")
