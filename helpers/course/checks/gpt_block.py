"""Checkers for the exercises of notebook 02_gpt_block (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


@exercise(fallback="helpers.models.gpt.layer_norm")
def check_layer_norm(layer_norm_fn) -> None:
    """Check layer_norm_fn(x, weight, bias, eps) against torch's layer norm over the last axis."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(3)
    x = 3 * torch.randn(2, 4, 8, generator=g) + 5
    weight, bias = torch.randn(8, generator=g), torch.randn(8, generator=g)
    got = layer_norm_fn(x, weight, bias, 1e-5)
    not_done(got, "each vector of C numbers along the last axis is normalised on its own: which two statistics "
                  "of those C numbers does that take?")
    assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
        f"expected a tensor of shape {tuple(x.shape)}, got {described(got)}"
    mean, var = x.mean(-1, keepdim=True), x.var(-1, keepdim=True, unbiased=True)
    assert not torch.allclose(got, (x - mean) / torch.sqrt(var + 1e-5) * weight + bias, atol=1e-5), \
        "almost: the variance here divides by C, not C - 1 (the biased variance; look at torch.var's arguments)"
    assert not torch.allclose(got, F.layer_norm(x, (8,), eps=1e-5), atol=1e-5), \
        "normalised, but not scaled and shifted: multiply by weight and add bias at the end"
    assert torch.allclose(got, F.layer_norm(x, (8,), weight, bias, 1e-5), atol=1e-5), \
        "not LayerNorm: compare yours with torch.nn.functional.layer_norm on a small x, step by step"
    passed("layer_norm matches torch.nn.functional.layer_norm")


def _block_variants(x, ln_1, attn, ln_2, mlp):
    """Return {hint: output} for the usual wrong ways to write a pre-norm block."""
    def post_norm():
        h = ln_1(x + attn(x))
        return ln_2(h + mlp(h))

    def normalised_residual():
        h = ln_1(x)
        h = h + attn(h)
        n = ln_2(h)
        return n + mlp(n)

    h = x + attn(ln_1(x))
    return {
        "that is post-norm (the original Transformer's x = ln(x + sublayer(x))): here each sub-layer reads "
        "ln(x) and its result is added to x itself, which is never normalised": post_norm(),
        "the attention's result replaces x: add it to the stream x instead":
            attn(ln_1(x)) + mlp(ln_2(attn(ln_1(x)))),
        "the MLP's result replaces x: add it to the stream x instead": mlp(ln_2(h)),
        "add the sub-layers' results to x, not to its normalised copy: the stream itself is never normalised":
            normalised_residual(),
        "the MLP must read the stream after the attention added to it (not the block's input: that is a "
        "'parallel' block)": x + attn(ln_1(x)) + mlp(ln_2(x)),
        "ln_1 goes with attn and ln_2 with mlp": (lambda y: y + mlp(ln_1(y)))(x + attn(ln_2(x))),
        "attention first, then the MLP": (lambda y: y + attn(ln_2(y)))(x + mlp(ln_1(x))),
        "the block returns the stream as it is: no LayerNorm on the way out (GPT has one ln_f after the last block)":
            ln_2(mlp(ln_2(h)) + h),
    }


@exercise(fallback="helpers.models.gpt.pre_norm_block")
def check_block_forward(block_fn) -> None:
    """Check block_fn(x, ln_1, attn, ln_2, mlp) is the pre-norm residual block of GPT-2."""
    import torch
    import torch.nn as nn

    from helpers.models.gpt import MLP, CausalSelfAttention, GPTConfig, pre_norm_block

    torch.manual_seed(5)
    config = GPTConfig(vocab_size=11, block_size=6, n_layer=1, n_head=2, n_embd=8)
    ln_1, ln_2, attn, mlp = nn.LayerNorm(8), nn.LayerNorm(8), CausalSelfAttention(config), MLP(config)
    with torch.no_grad():
        for module in (ln_1, ln_2, attn, mlp):
            for p in module.parameters():
                p.copy_(0.6 * torch.randn(p.shape))  # not the identity-like init: every variant differs
    x = 2 * torch.randn(2, 6, 8) + 1  # a stream that is far from normalised
    with torch.no_grad():
        got = block_fn(x.clone(), ln_1, attn, ln_2, mlp)
        not_done(got, "read the paragraph on the residual stream above: what does each sub-layer read, and where "
                      "does its result go?")
        assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
            f"a block keeps the shape (B, T, C) = {tuple(x.shape)}; got {described(got)}"
        want = pre_norm_block(x, ln_1, attn, ln_2, mlp)
        if not torch.allclose(got, want, atol=1e-5):
            for hint, wrong in _block_variants(x, ln_1, attn, ln_2, mlp).items():
                assert not torch.allclose(got, wrong, atol=1e-5), hint
            raise AssertionError("not the pre-norm block: each sub-layer reads its own LayerNorm of the stream, "
                                 "and the stream itself gets the sub-layer's result added")
    passed("block_forward is GPT-2's pre-norm residual block")


def _param_hint(got: int, want: int, n_layer: int, C: int, vocab: int, block: int) -> str:
    """Return what a count that is off by got - want most likely left out or counted twice."""
    off = got - want
    known = {
        vocab * C: "you counted lm_head, but it is the token embedding matrix again (weights are tied)",
        -block * C: "add the learned position table, block_size × n_embd",
        -vocab * C: "add the token embedding table, vocab_size × n_embd (lm_head shares it)",
        -2 * C: "add the final LayerNorm ln_f: a weight and a bias per channel, 2·C",
        -n_layer * 4 * C: "each block has two LayerNorms of 2·C each (ln_1, ln_2)",
        -n_layer * 9 * C: "count the Linear layers' biases: 3C + C + 4C + C per block",
        -n_layer * 13 * C: "count biases and LayerNorms, 13·C per block, not only the 12·C² weights",
    }
    return known.get(off, f"got {got}, the model has {want} ({off:+d}); check biases and LayerNorms")


@exercise(fallback="helpers.analysis.sizing.gpt_params")
def check_param_count(count_fn) -> None:
    """Check count_fn(n_layer, n_embd, vocab_size, block_size) against real GPT-2-style models."""
    from helpers.models.gpt import GPT, GPTConfig

    for n_layer, n_embd, vocab, block in ((1, 8, 11, 5), (2, 16, 30, 7), (3, 24, 50, 13)):
        got = count_fn(n_layer, n_embd, vocab, block)
        not_done(got, "count one block from the table above first, then what sits around the blocks")
        config = GPTConfig(vocab_size=vocab, block_size=block, n_layer=n_layer, n_head=1, n_embd=n_embd)
        want = GPT(config).num_params()
        shape = f"n_layer={n_layer}, n_embd={n_embd}, vocab_size={vocab}, block_size={block}"
        assert isinstance(got, int) or float(got).is_integer(), f"{shape}: a count is a whole number, got {got!r}"
        assert got == want, f"{shape}: {_param_hint(int(got), want, n_layer, n_embd, vocab, block)}"
    passed("your count matches GPT.num_params() on three shapes")


@exercise(fallback="helpers.analysis.sizing.linear_flops_per_token")
def check_forward_flops(flops_fn) -> None:
    """Check flops_fn(n_layer, n_embd, vocab_size): the Linear layers' forward FLOPs per token, as torch counts."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from helpers.models.gpt import GPT, GPTConfig

    for n_layer, n_embd, vocab in ((1, 8, 11), (2, 16, 30), (3, 24, 50)):
        got = flops_fn(n_layer, n_embd, vocab)
        not_done(got, "list the Linear layers one token goes through, with their weights' shapes")
        T = 4
        model = GPT(GPTConfig(vocab_size=vocab, block_size=T, n_layer=n_layer, n_head=1, n_embd=n_embd))
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, T, dtype=torch.long))
        want = counter.get_total_flops() // T  # scaled_dot_product_attention is not counted on CPU
        shape = f"n_layer={n_layer}, n_embd={n_embd}, vocab_size={vocab}"
        assert got != want // 2, f"{shape}: a multiply-add is 2 FLOPs; you counted 1 per weight"
        assert got != want - 2 * vocab * n_embd, f"{shape}: add the lm_head, the biggest single matmul here"
        assert got == want, \
            f"{shape}: got {got}, torch counts {want} ({got - want:+d}); count all four Linears per block"
    passed("your FLOP count matches torch's FlopCounterMode")
