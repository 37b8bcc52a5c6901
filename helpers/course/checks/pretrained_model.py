"""Checkers for the exercises of notebook 07_pretrained_model (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


@exercise(fallback="helpers.models.llama.rms_norm")
def check_rms_norm(rms_norm_fn) -> None:
    """Check rms_norm_fn(x (..., C), weight (C,), eps) against helpers.models.llama.rms_norm."""
    import torch
    import torch.nn.functional as F

    from helpers.models.llama import rms_norm

    g = torch.Generator().manual_seed(3)
    cases = [(torch.randn(2, 3, 8, generator=g) + 1.5, torch.rand(8, generator=g) + 0.5, 1e-5),  # a mean far from 0
             (torch.randn(4, 6, generator=g) * 1e-3, torch.rand(6, generator=g) + 0.5, 1e-5),  # eps matters here
             (torch.randn(1, 5, 16, generator=g), torch.randn(16, generator=g), 1e-6)]
    for x, weight, eps in cases:
        got = rms_norm_fn(x.clone(), weight.clone(), eps)
        if not_done(got, "RMSNorm is LayerNorm without the mean: which one statistic of a vector's C numbers "
                         "does it divide by?"):
            return
        where = f"x of shape {tuple(x.shape)}, eps={eps}"
        assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
            f"{where}: expected a tensor of x's shape, got {described(got)}"
        want = rms_norm(x, weight, eps)
        if torch.allclose(got, want, rtol=1e-4, atol=1e-5):
            continue
        C = x.size(-1)
        layer_norm = F.layer_norm(x, (C,), weight, eps=eps)
        assert not torch.allclose(got, layer_norm, rtol=1e-3, atol=1e-4), \
            f"{where}: that is LayerNorm: RMSNorm does not subtract the mean, it only divides by the root mean square"
        assert not torch.allclose(got, rms_norm(x, torch.ones_like(weight), eps), rtol=1e-4, atol=1e-5), \
            f"{where}: multiply the normalised vector by weight, channel by channel"
        assert not torch.allclose(got, want / C ** 0.5, rtol=1e-3, atol=1e-5), \
            f"{where}: take the MEAN of the squares (divide by C), not their sum: that is the norm, not the RMS"
        outside = weight * x / (x.pow(2).mean(-1, keepdim=True).sqrt() + eps)
        assert not torch.allclose(got, outside, rtol=1e-4, atol=1e-5), \
            f"{where}: eps goes inside the square root: sqrt(mean(x²) + eps)"
        raise AssertionError(f"{where}: normalise each vector over its C channels (the last axis, keepdim=True), "
                             f"eps inside the root, then the weight")
    passed("RMSNorm: divide by the root mean square, scale by the weight; the same as helpers.models.llama.rms_norm")


@exercise(fallback="helpers.models.llama.rope")
def check_rope(rope_fn) -> None:
    """Check rope_fn(x (..., T, D), base) against helpers.models.llama.rope (pairs i, i + D/2)."""
    import torch

    from helpers.models.llama import apply_rope, rope, rope_interleaved, rope_tables

    g = torch.Generator().manual_seed(4)
    for shape, base in (((6, 4), 10000.0), ((2, 3, 9, 8), 100.0), ((1, 2, 17, 16), 100000.0)):
        x = torch.randn(*shape, generator=g)
        got = rope_fn(x.clone(), base)
        if not_done(got, "build the angles first, a (T, D/2) table of position × θ_i, and print it for T = 3, "
                         "D = 4 and base 100: does row 0 hold zeros?"):
            return
        where = f"x of shape {shape}, base {base:g}"
        assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
            f"{where}: expected a tensor of x's shape, got {described(got)}"
        want = rope(x, base)
        if torch.allclose(got, want, atol=1e-4):
            continue
        T, D = shape[-2:]
        assert not torch.allclose(got, x, atol=1e-5), f"{where}: x came back unchanged: rotate each pair by its angle"
        assert torch.allclose(got.norm(dim=-1), x.norm(dim=-1), atol=1e-3), \
            f"{where}: a rotation keeps each vector's length and yours changes it: check the two rotated halves " \
            f"against the statement"
        cos, sin = rope_tables(T, D, base)
        assert not torch.allclose(got, apply_rope(x, cos, -sin), atol=1e-4), \
            f"{where}: rotated the wrong way: the first half gets x1·cos − x2·sin, the second x1·sin + x2·cos"
        swapped = torch.cat(want.chunk(2, dim=-1)[::-1], dim=-1)
        assert not torch.allclose(got, swapped, atol=1e-4), \
            f"{where}: the two halves are swapped: the first half of the output is x1·cos − x2·sin"
        inv_freq = 1.0 / base ** (torch.arange(0, D, 2).float() / D)
        angles = torch.arange(T).float()[:, None] * inv_freq
        assert not torch.allclose(got, rope_interleaved(x, angles), atol=1e-4), \
            f"{where}: that pairs neighbours (0, 1), (2, 3)...; this model pairs channel i with channel i + D/2"
        shifted = apply_rope(x, *[t[1:] for t in rope_tables(T + 1, D, base)])
        assert not torch.allclose(got, shifted, atol=1e-4), f"{where}: positions start at 0, not 1"
        slow = torch.cat([torch.arange(T).float()[:, None] / base ** (torch.arange(D // 2).float() / D)] * 2, -1)
        assert not torch.allclose(got, apply_rope(x, slow.cos(), slow.sin()), atol=1e-4), \
            f"{where}: pair i turns by base^(−2i/D) per position: the exponent grows by 2/D from one pair to the next"
        raise AssertionError(f"{where}: pair i is (x[..., i], x[..., i + D/2]) and turns by position × base^(−2i/D)")
    passed("RoPE: each pair (i, i + D/2) turned by position × θ_i, the same as helpers.models.llama.rope")


@exercise(fallback="helpers.models.llama.grouped_query_attention")
def check_grouped_query_attention(attention_fn) -> None:
    """Check attention_fn(q (B, H, T, D), k, v (B, K, T, D)) against helpers.models.llama.grouped_query_attention."""
    import math

    import torch

    from helpers.models.llama import grouped_query_attention

    g = torch.Generator().manual_seed(5)
    for B, H, K, T, D in ((1, 2, 1, 3, 4), (2, 6, 2, 5, 8), (1, 9, 3, 7, 4), (1, 4, 4, 6, 8)):
        q, k, v = (torch.randn(B, n, T, D, generator=g) for n in (H, K, K))
        where = f"{H} query heads, {K} key/value heads, T={T}" if K > 1 else f"{H} query heads, 1 key/value head, T={T}"
        try:
            got = attention_fn(q.clone(), k.clone(), v.clone())
        except RuntimeError as e:
            if K == H:
                raise
            raise AssertionError(f"{where}: your code raised RuntimeError ({str(e).splitlines()[0]}): k and v "
                                 f"have K heads and q has H; give k and v as many heads as q first") from None
        if not_done(got, "k and v have fewer heads than q: which query heads share key/value head 0? Once every "
                         "query head has its keys, it is notebook 01's causal attention"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == q.shape, \
            f"{where}: expected a tensor of q's shape {tuple(q.shape)}, got {described(got)}"
        want = grouped_query_attention(q, k, v)
        if torch.allclose(got, want, atol=1e-5):
            continue
        assert not torch.allclose(got, _tiled(q, k, v), atol=1e-5), \
            f"{where}: query heads 0..{H // K - 1} share key/value head 0, the next {H // K} head 1, ...: " \
            f"use repeat_interleave (0,0,0,1,1,1), not repeat (0,1,2,0,1,2)"
        n_rep = H // K
        kk, vv = k.repeat_interleave(n_rep, 1), v.repeat_interleave(n_rep, 1)
        scores = q @ kk.transpose(-2, -1) / math.sqrt(D)
        assert not torch.allclose(got, scores.softmax(-1) @ vv, atol=1e-5), \
            f"{where}: a query must not see later tokens: mask the scores above the diagonal with -inf"
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        by_d = (q @ kk.transpose(-2, -1) / D).masked_fill(~causal, float("-inf")).softmax(-1) @ vv
        assert not torch.allclose(got, by_d, atol=1e-5), f"{where}: scale the scores by 1/√D, not 1/D"
        raise AssertionError(f"{where}: check the attention step against notebook 01's: the scale, the softmax "
                             f"over the keys (the last axis) and the causal mask")
    passed("grouped-query attention: each key/value head serves its group of query heads, causal, "
           "as helpers.models.llama.grouped_query_attention")


def _tiled(q, k, v):
    """The typical mistake: key/value heads tiled (0, 1, 2, 0, 1, 2, ...) instead of repeated in groups."""
    from helpers.models.llama import grouped_query_attention

    n_rep = q.size(1) // k.size(1)
    return grouped_query_attention(q, k.repeat(1, n_rep, 1, 1), v.repeat(1, n_rep, 1, 1))


@exercise(fallback="helpers.models.llama.rope_interleaved")
def check_rope_interleaved(rope_fn) -> None:
    """Check rope_fn(x (T, D), angles (T, D/2)): pair (2i, 2i+1) of x rotated by angles[:, i] (RoFormer's layout)."""
    import torch

    from helpers.models.llama import apply_rope

    g = torch.Generator().manual_seed(7)
    for T, D in ((1, 2), (5, 8), (12, 64)):
        x = torch.randn(T, D, generator=g)
        angles = torch.outer(torch.arange(T, dtype=torch.float) + 1, torch.rand(D // 2, generator=g) + 0.1)
        got = rope_fn(x.clone(), angles.clone())
        if not_done(got, "which channels form pair i in this layout, and how do you pick the first member of "
                         "every pair at once?"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
            f"expected a tensor of shape {tuple(x.shape)}, got {described(got)}"
        # the interleaved layout is the half-split one with the channels reordered: evens first, then odds
        order = torch.cat([torch.arange(0, D, 2), torch.arange(1, D, 2)])
        want = torch.empty_like(x)
        want[:, order] = apply_rope(x[:, order], *(torch.cat([angles, angles], -1).cos(),
                                                   torch.cat([angles, angles], -1).sin()))
        if torch.allclose(got, want, atol=1e-5):
            continue
        where = f"x of shape ({T}, {D})"
        assert not torch.allclose(got, x, atol=1e-5), f"{where}: x came back unchanged: rotate each pair by its angle"
        assert torch.allclose(got.norm(dim=-1), x.norm(dim=-1), atol=1e-4), \
            f"{where}: a rotation keeps each vector's length, yours changes it: check the rotated pair against " \
            f"the statement"
        half = apply_rope(x, torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin())
        assert not torch.allclose(got, half, atol=1e-5), (
            f"{where}: that is the half-split layout (pairs i and i + D/2); "
            f"here the pairs are neighbours (0, 1), (2, 3), ...")
        back = torch.empty_like(x)
        back[:, order] = apply_rope(x[:, order], torch.cat([angles, angles], -1).cos(),
                                    -torch.cat([angles, angles], -1).sin())
        assert not torch.allclose(got, back, atol=1e-5), \
            f"{where}: rotated the wrong way: (x1, x2) -> (x1·cos − x2·sin, x1·sin + x2·cos)"
        raise AssertionError(f"{where}: pair i is (x[2i], x[2i+1]) and turns by angles[:, i]; the rotated pair "
                             f"goes back at channels 2i and 2i+1 (evens and odds interleaved again)")
    passed("rotates neighbouring pairs (RoFormer's layout), the same rotation as helpers.models.llama.apply_rope")


@exercise(fallback="helpers.models.kv_cache.gqa_cache_bytes")
def check_gqa_cache_bytes(bytes_fn) -> None:
    """Check bytes_fn(n_layer, n_kv_head, head_dim, seq_len, batch_size, bytes_per_value) against filled caches."""
    import torch

    from helpers.models.llama import Llama, LlamaConfig

    for n_layer, n_head, n_kv_head, n_embd, T, B in ((1, 2, 1, 8, 3, 1), (2, 4, 2, 16, 5, 2), (3, 6, 3, 24, 7, 3)):
        head_dim = n_embd // n_head
        got = bytes_fn(n_layer, n_kv_head, head_dim, T, B, 4)
        if not_done(got, "notebook 05's count, with key/value heads: what does one layer keep for one token of "
                         "one sequence?"):
            return
        model = Llama(LlamaConfig(vocab_size=11, block_size=8, n_layer=n_layer, n_head=n_head, n_kv_head=n_kv_head,
                                  n_embd=n_embd, hidden_dim=8))
        cache = model.new_cache()
        with torch.no_grad():
            model(torch.zeros(B, T, dtype=torch.long), cache=cache)
        want = sum(t.nelement() * t.element_size() for layer in cache for t in (layer.k, layer.v))
        case = (f"n_layer={n_layer}, n_kv_head={n_kv_head}, head_dim={head_dim}, seq_len={T}, batch_size={B}, "
                f"4 bytes: got {got}, the cache holds {want}")
        assert got != want // 2, f"{case}: count the keys AND the values (a factor 2)"
        assert got != want * n_head // n_kv_head, \
            f"{case}: the cache keeps only the n_kv_head shared heads, not every query head"
        assert got == want, f"{case}: count keys and values for every layer, key/value head, channel of a head, " \
                            f"token and sequence, then the bytes of each"
    passed("your count matches the bytes in real GQA caches")
