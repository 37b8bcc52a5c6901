"""The KV cache (notebook 05): the keys and values of the tokens seen so far, kept per layer.

``LayerCache`` and ``KVCache`` are what ``GPT.forward(idx, cache=...)`` and ``Llama.forward`` fill
(``helpers.models.gpt.CausalSelfAttention.forward(x, cache)`` uses them). The functions below are
the pieces notebooks 05 and 07 have a learner write: attention over cached keys by hand, and the
memory a full cache takes, for multi-head and for grouped-query attention.
"""
from __future__ import annotations

import math

import torch


class LayerCache:
    """One layer's keys and values for the tokens seen so far, each (B, H, T_seen, D)."""

    def __init__(self):
        self.k = self.v = None

    def __len__(self) -> int:
        return 0 if self.k is None else self.k.size(2)

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new tokens' keys and values; return all keys and values so far."""
        self.k = k if self.k is None else torch.cat([self.k, k], dim=2)
        self.v = v if self.v is None else torch.cat([self.v, v], dim=2)
        return self.k, self.v


class KVCache(list):
    """A LayerCache per layer: with it, generation feeds the model only the newest token."""

    def __init__(self, n_layer: int):
        super().__init__(LayerCache() for _ in range(n_layer))

    @property
    def length(self) -> int:
        """Return how many tokens the cache holds."""
        return len(self[0])


def attention_with_cache(attn, x: torch.Tensor, cache) -> torch.Tensor:
    """Return one layer's attention output (B, T_new, C) for new tokens ``x``, adding their keys to ``cache``.

    ``attn`` is a ``helpers.models.gpt.CausalSelfAttention`` (its ``c_attn``, ``c_proj``, ``n_head``);
    ``cache`` has ``append(k, v) -> (all keys, all values)`` and ``len()`` (a ``LayerCache``).
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


def gqa_cache_bytes(n_layer: int, n_kv_head: int, head_dim: int, seq_len: int, batch_size: int,
                    bytes_per_value: int) -> int:
    """Return the bytes of a full grouped-query KV cache: kv_cache_bytes with n_kv_head · head_dim numbers per token."""
    return kv_cache_bytes(n_layer, n_kv_head * head_dim, seq_len, batch_size, bytes_per_value)
