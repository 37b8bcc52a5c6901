"""The KV cache in two small pieces, the course's answers to notebook 05's exercises.

``helpers.model`` holds the cache itself (``LayerCache``, ``KVCache``) and the attention that uses
it (``CausalSelfAttention.forward(x, cache)``). These two functions are the pieces a learner writes:
attention over cached keys written out by hand, and the memory a full cache takes.
"""
from __future__ import annotations

import math

import torch


def attention_with_cache(attn, x: torch.Tensor, cache) -> torch.Tensor:
    """Return one layer's attention output (B, T_new, C) for new tokens ``x``, adding their keys to ``cache``.

    ``attn`` is a ``helpers.model.CausalSelfAttention`` (its ``c_attn``, ``c_proj``, ``n_head``);
    ``cache`` has ``append(k, v) -> (all keys, all values)`` and ``len()`` (``helpers.model.LayerCache``).
    New token i sits at position past + i and sees the keys of positions 0..past + i.
    """
    B, T, C = x.shape
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, attn.n_head, C // attn.n_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
    past = len(cache)
    k, v = cache.append(k, v)  # (B, H, past + T, D)
    scores = q @ k.transpose(-2, -1) / math.sqrt(k.size(-1))  # (B, H, T, past + T)
    allowed = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
    y = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1) @ v  # (B, H, T, D)
    return attn.c_proj(y.transpose(1, 2).reshape(B, T, C))


def kv_cache_bytes(n_layer: int, n_embd: int, seq_len: int, batch_size: int, bytes_per_value: int) -> int:
    """Return the bytes of a full KV cache: a key and a value of n_embd numbers per token, layer and sequence."""
    return 2 * n_layer * batch_size * seq_len * n_embd * bytes_per_value
