"""Checkers for the exercises of notebook 01_attention (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


def _close(a, b, atol: float = 1e-5) -> bool:
    """Return True when tensors a and b have one shape and equal values (NaN equal to NaN)."""
    import torch

    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b, atol=atol, equal_nan=True)


@exercise(fallback="helpers.models.attention.softmax")
def check_softmax(softmax_fn) -> None:
    """Check softmax_fn(x) against torch.softmax over the last axis, scores near 1000 included."""
    import torch

    g = torch.Generator().manual_seed(1)
    inputs = [torch.tensor([[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 5.0]]),
              50 * torch.randn(2, 3, 5, generator=g)]
    for x in inputs:
        got = softmax_fn(x.clone())
        not_done(got, "the naive_softmax cell above shows what exp does to scores near 1000; a softmax does not "
                      "change when every score of a row moves by the same amount")
        assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
            f"expected a tensor of shape {tuple(x.shape)}, got {described(got)}"
        assert torch.isfinite(got).all(), \
            "some weights are inf or NaN: exp of a score near 1000 overflows; shift each row before exp so that " \
            "its largest score becomes 0"
        assert torch.allclose(got.sum(-1), torch.ones(x.shape[:-1]), atol=1e-5), \
            "the rows do not sum to 1: normalise over the last axis, and keep that axis (keepdim) so that the " \
            "division goes row by row"
        assert torch.allclose(got, torch.softmax(x, dim=-1), atol=1e-6), \
            "finite and summing to 1, but not the softmax: compare yours with torch.softmax on a short row, " \
            "step by step"
    passed("softmax matches torch.softmax and stays finite for scores near 1000")


@exercise(fallback="helpers.models.attention.attend_one")
def check_attend_one(attend_fn) -> None:
    """Check attend_fn(q (D,), K (S, D), V (S, Dv)) returns the attention output (Dv,) for one query."""
    import math

    import torch

    g = torch.Generator().manual_seed(2)
    q, K, V = torch.randn(8, generator=g), 2 * torch.randn(5, 8, generator=g), torch.randn(5, 3, generator=g)
    got = attend_fn(q, K, V)
    not_done(got, "start with the scores, one number per key: a tensor of shape (S,); the formula above "
                  "says what happens to them next")
    assert isinstance(got, torch.Tensor) and got.shape == (3,), \
        f"expected a tensor of shape (3,) (one value-sized vector), got {described(got)}"
    scores = K @ q
    assert not _close(got, torch.softmax(scores, dim=0) @ V), "almost: divide the scores by sqrt(D), D = len(q)"
    assert not _close(got, torch.softmax(scores / 8, dim=0) @ V), "divide the scores by sqrt(D), not by D"
    assert not _close(got, V.mean(0)), "that is the plain mean of V: each row of V should count with its key's weight"
    assert _close(got, torch.softmax(scores / math.sqrt(8), dim=0) @ V), \
        "not the attention output: print each step's shape (scores and weights (S,), the weights summing to 1, " \
        "the output (Dv,)) and check it against the formula"
    passed("one query's attention output is right")


def _attention_variants(q, k, v, mask):
    """Return {hint: weights} for the usual wrong ways to compute attention weights."""
    import math

    import torch

    raw = q @ k.transpose(-2, -1)
    D = q.shape[-1]

    def masked(scores, keep, fill=float("-inf")):
        return scores if keep is None else scores.masked_fill(~keep, fill)

    variants = {
        "divide the scores by sqrt(D), D = q.shape[-1]: without it wide heads give a near one-hot softmax":
            torch.softmax(masked(raw, mask), dim=-1),
        "divide the scores by sqrt(D), not by D": torch.softmax(masked(raw / D, mask), dim=-1),
        "the softmax runs over the wrong axis: use dim=-1, so that each query's weights over the keys sum to 1":
            torch.softmax(masked(raw / math.sqrt(D), mask), dim=-2),
    }
    if mask is not None:
        scaled = raw / math.sqrt(D)
        variants.update({
            "the mask is not applied: fill the scores where mask is False with -inf before the softmax":
                torch.softmax(scaled, dim=-1),
            "fill the masked scores with float('-inf'), not 0: a score of 0 still gets weight":
                torch.softmax(scaled.masked_fill(~mask, 0.0), dim=-1),
            "the mask is inverted: True means 'may attend', so the scores to fill are those where it is False":
                torch.softmax(scaled.masked_fill(mask, float("-inf")), dim=-1),
            "mask the scores before the softmax (masking the weights afterwards leaves rows that do not sum to 1)":
                torch.softmax(scaled, dim=-1) * mask,
        })
        own = torch.ones(mask.shape[-2:], dtype=torch.bool).tril()
        if not torch.equal(own, mask):
            variants["use the mask you are given: attention is not always causal, and callers pass other masks"] = \
                torch.softmax(scaled.masked_fill(~own, float("-inf")), dim=-1)
        if mask.shape[-1] == mask.shape[-2]:
            variants["the mask is transposed: row i of mask is query i, column j key j; use it as given"] = \
                torch.softmax(scaled.masked_fill(~mask.transpose(-2, -1), float("-inf")), dim=-1)
    return variants


@exercise(fallback="helpers.models.attention.scaled_dot_product_attention")
def check_attention(attention_fn) -> None:
    """Check attention_fn(q, k, v, mask=None) -> (output, weights) against helpers.models.attention, masks included."""
    import torch

    from helpers.models.attention import causal_mask, scaled_dot_product_attention

    g = torch.Generator().manual_seed(3)
    B, H, T, S, D, Dv = 2, 3, 5, 6, 8, 4
    q = 2 * torch.randn(B, H, T, D, generator=g)
    k, v = 2 * torch.randn(B, H, S, D, generator=g), torch.randn(B, H, S, Dv, generator=g)
    general = torch.rand(T, S, generator=g) > 0.4
    general[:, 0] = True  # every query may see at least one key
    kk, vv = k[..., :T, :], v[..., :T, :]
    cases = [("no mask", q, k, v, None), ("a causal mask", q, kk, vv, causal_mask(T)),
             ("a (T, S) mask that is not causal", q, k, v, general)]
    for name, q_, k_, v_, mask in cases:
        got = attention_fn(q_, k_, v_) if mask is None else attention_fn(q_, k_, v_, mask)
        not_done(got, "the same steps as attend_one, for all T queries at once: the scores now form a (..., T, S) "
                      "matrix, one row per query")
        assert isinstance(got, tuple) and len(got) == 2, \
            f"with {name}: return two things, (output, weights); got {described(got)}"
        out, weights = got
        want_out, want_w = scaled_dot_product_attention(q_, k_, v_, mask)
        S_ = k_.shape[-2]
        assert isinstance(weights, torch.Tensor) and weights.shape == want_w.shape, \
            f"with {name}: weights should be (..., T, S) = {tuple(want_w.shape)}, one row per query, " \
            f"got {described(weights)}" + (": rows and columns are swapped: one row per query, one column per key"
                                          if getattr(weights, "shape", None) == want_w.transpose(-2, -1).shape
                                          and S_ != T else "")
        if not _close(weights, want_w):
            for hint, wrong in _attention_variants(q_, k_, v_, mask).items():
                assert not _close(weights, wrong), f"with {name}: {hint}"
            raise AssertionError(f"with {name}: the weights differ from the course's; check each step on a small "
                                 f"example (T = 2, S = 3)")
        assert isinstance(out, torch.Tensor) and out.shape == want_out.shape, \
            f"with {name}: the output should be (..., T, Dv) = {tuple(want_out.shape)}, got {described(out)}"
        assert _close(out, want_out), \
            f"with {name}: the weights are right but the output is not: each query's output mixes the rows of v " \
            f"with that query's weights"
    passed("attention matches helpers.models.attention.scaled_dot_product_attention, with and without masks")


@exercise(fallback="helpers.models.attention.causal_mask")
def check_causal_mask(mask_fn) -> None:
    """Check mask_fn(T) returns the (T, T) bool causal mask, True where query i may see key j <= i."""
    import torch

    for T in (3, 6, 1):
        got = mask_fn(T)
        not_done(got, "draw the mask for T = 3 on paper (row i is query i): which triangle of the grid is True?")
        assert isinstance(got, torch.Tensor) and got.shape == (T, T), \
            f"mask_fn({T}) should be a ({T}, {T}) tensor, got {described(got)}"
        assert got.dtype == torch.bool, \
            f"got dtype {got.dtype}: give a bool mask (True = may attend), e.g. with .bool()"
        want = torch.ones(T, T, dtype=torch.bool).tril()
        assert T == 1 or not torch.equal(got, want.T), \
            "transposed: row i is query i, and it may see columns 0..i (on and below the diagonal)"
        assert not torch.equal(got, ~want), \
            "inverted: here True means 'may attend' (torch.nn.MultiheadAttention uses the opposite convention)"
        assert not torch.equal(got, want.tril(-1)), \
            "off by one: the diagonal must be True, each token may look at itself"
        assert T == 1 or not torch.equal(got, torch.ones(T, T, dtype=torch.bool).tril(1)), \
            "off by one: query i may see keys 0..i, not key i + 1 (that is the next token, the one to predict)"
        assert torch.equal(got, want), "query i (row i) may see keys 0..i (True) and none after it (False)"
    passed("causal mask is right")


def _split(t, heads: int):
    """(B, T, C) -> (B, H, T, D): the right way to give each head its D channels."""
    B, T, C = t.shape
    return t.view(B, T, heads, C // heads).transpose(1, 2)


@exercise(fallback="helpers.models.attention.MultiHeadAttention")
def check_multi_head_attention(mha_class) -> None:
    """Check mha_class(d_model, n_heads)(x, mask) -> (output, weights) against
    helpers.models.attention.MultiHeadAttention."""
    import math

    import torch
    import torch.nn as nn

    from helpers.models.attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention

    B, T, C, H = 2, 5, 12, 3
    D = C // H
    g = torch.Generator().manual_seed(4)
    reference = MultiHeadAttention(C, H)
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    module = mha_class(C, H)
    for name, shape in (("in_proj", (3 * C, C)), ("out_proj", (C, C))):
        layer = getattr(module, name, None)
        assert isinstance(layer, nn.Linear) and tuple(layer.weight.shape) == shape, \
            f"keep the stub's layers: self.{name} = nn.Linear(...) with a weight of shape {shape}"
        getattr(module, name).load_state_dict(getattr(reference, name).state_dict())
    x = torch.randn(B, T, C, generator=g)
    for name, mask in (("no mask", None), ("the causal mask", causal_mask(T))):
        with torch.no_grad():
            got = module(x) if mask is None else module(x, mask)
            want_out, want_w = reference(x, mask)
        not_done(got, "each head works on its own D = C // H channels; find the shape q, k and v must have for "
                      "one call of attention to run every head at once")
        assert isinstance(got, tuple) and len(got) == 2, \
            f"with {name}: forward should return (output, weights), got {described(got)}"
        out, weights = got
        assert isinstance(weights, torch.Tensor) and weights.shape == want_w.shape, \
            f"with {name}: weights should be (B, H, T, T) = {tuple(want_w.shape)}, one (T, T) map per head, " \
            f"got {described(weights)}"
        with torch.no_grad():
            q, k, v = reference.in_proj(x).split(C, dim=-1)
            wrong_split = [t.reshape(B, H, T, D) for t in (q, k, v)]  # reshaping (B, T, C) mixes positions
            qh, kh, vh = (_split(t, H) for t in (q, k, v))
            scores_c = qh @ kh.transpose(-2, -1) / math.sqrt(C)
            if mask is not None:
                scores_c = scores_c.masked_fill(~mask, float("-inf"))
            y, _ = scaled_dot_product_attention(qh, kh, vh, mask)
        if not _close(weights, want_w):
            assert not _close(weights, torch.softmax(scores_c, dim=-1)), \
                f"with {name}: divide the scores by sqrt(D), D = d_model // n_heads the head size, not sqrt(d_model)"
            assert not _close(weights, scaled_dot_product_attention(*wrong_split, mask)[1]), \
                f"with {name}: the heads are split wrongly: reshaping (B, T, C) straight to (B, H, T, D) mixes " \
                f"positions and channels; split the channel axis into heads first, then move the head axis"
            assert not (mask is not None and _close(weights, scaled_dot_product_attention(qh, kh, vh)[1])), \
                f"with {name}: pass the mask on to the attention"
            raise AssertionError(f"with {name}: the weights differ from the course's; check the split into heads "
                                 f"and the attention step")
        assert isinstance(out, torch.Tensor) and out.shape == want_out.shape, \
            f"with {name}: the output should be (B, T, C) = {tuple(want_out.shape)}, got {described(out)}"
        if not _close(out, want_out):
            merged = y.transpose(1, 2).reshape(B, T, C)
            assert not _close(out, merged), f"with {name}: finish with self.out_proj, which mixes what the heads found"
            assert not _close(out, reference.out_proj(y.reshape(B, T, C))), \
                f"with {name}: transpose the heads' outputs back to (B, T, H, D) before reshaping to (B, T, C)"
            raise AssertionError(f"with {name}: the weights are right but the output is not: put the heads' "
                                 f"outputs side by side ((B, T, C)) and apply self.out_proj")
    passed("multi-head attention matches helpers.models.attention.MultiHeadAttention, with and without the causal mask")
