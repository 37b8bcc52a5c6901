"""Checkers for the exercises of notebook 07_pretrained_model (see helpers.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed


@exercise()
def check_rope_interleaved(rope_fn) -> None:
    """Check rope_fn(x (T, D), angles (T, D/2)): pair (2i, 2i+1) of x rotated by angles[:, i] (RoFormer's layout)."""
    import torch

    from helpers.llama import apply_rope

    g = torch.Generator().manual_seed(7)
    for T, D in ((1, 2), (5, 8), (12, 64)):
        x = torch.randn(T, D, generator=g)
        angles = torch.outer(torch.arange(T, dtype=torch.float) + 1, torch.rand(D // 2, generator=g) + 0.1)
        got = rope_fn(x.clone(), angles.clone())
        if not_done(got, "x1, x2 = x[..., 0::2], x[..., 1::2]; rotate each pair (x1, x2) by its angle"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
            f"expected a tensor of shape {tuple(x.shape)}, got {type(got).__name__} {tuple(getattr(got, 'shape', ()))}"
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
            f"{where}: a rotation keeps each vector's length, yours changes it: use x1·cos − x2·sin and x1·sin + x2·cos"
        half = apply_rope(x, torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin())
        assert not torch.allclose(got, half, atol=1e-5), \
            f"{where}: that is the half-split layout (pairs i and i + D/2); here the pairs are neighbours (0, 1), (2, 3), ..."
        back = torch.empty_like(x)
        back[:, order] = apply_rope(x[:, order], torch.cat([angles, angles], -1).cos(),
                                    -torch.cat([angles, angles], -1).sin())
        assert not torch.allclose(got, back, atol=1e-5), \
            f"{where}: rotated the wrong way: (x1, x2) -> (x1·cos − x2·sin, x1·sin + x2·cos)"
        raise AssertionError(f"{where}: pair i is (x[2i], x[2i+1]) and turns by angles[:, i]; put the rotated pair "
                             f"back at channels 2i and 2i+1 (torch.stack([...], dim=-1).flatten(-2))")
    passed("rotates neighbouring pairs (RoFormer's layout), the same rotation as helpers.llama.apply_rope")


@exercise()
def check_gqa_cache_bytes(bytes_fn) -> None:
    """Check bytes_fn(n_layer, n_kv_head, head_dim, seq_len, batch_size, bytes_per_value) against filled caches."""
    import torch

    from helpers.llama import Llama, LlamaConfig

    for n_layer, n_head, n_kv_head, n_embd, T, B in ((1, 2, 1, 8, 3, 1), (2, 4, 2, 16, 5, 2), (3, 6, 3, 24, 7, 3)):
        head_dim = n_embd // n_head
        got = bytes_fn(n_layer, n_kv_head, head_dim, T, B, 4)
        if not_done(got, "per layer, per sequence, per token: a key and a value vector for each key/value head"):
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
        assert got != want * n_head // n_kv_head, f"{case}: the cache keeps only the n_kv_head shared heads, not every query head"
        assert got == want, f"{case}: multiply 2 × n_layer × n_kv_head × head_dim × seq_len × batch_size × bytes"
    passed("your count matches the bytes in real GQA caches")
