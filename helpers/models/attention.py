"""Attention written out by hand: the scaled dot-product and the multi-head module notebook 01 builds.

helpers.models.gpt.CausalSelfAttention calls torch's fused F.scaled_dot_product_attention instead (it is
faster and never builds the (T, T) weight matrix); notebook 01 proves the two compute the same thing.
Shapes in comments: B batch, H heads, T query positions, S key positions, D head size, C d_model.
Masks follow torch's convention for boolean masks: True = this query may look at this key.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn


def causal_mask(T: int, device=None) -> torch.Tensor:
    """Return the (T, T) bool mask that lets query i see keys 0..i (True on and below the diagonal)."""
    if T < 1:
        raise ValueError(f"T={T}: a causal mask needs at least one position")
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Return the softmax over the last axis, each row's max subtracted first so that exp never overflows."""
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)  # the largest entry becomes exp(0) = 1
    return e / e.sum(dim=-1, keepdim=True)


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (output (..., T, Dv), weights (..., T, S)) of softmax(q k^T / sqrt(D)) v for q (..., T, D)."""
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ValueError(f"q, k, v must be (..., positions, features); got shapes "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}: add a positions axis")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q has {q.shape[-1]} features but k has {k.shape[-1]}: queries and keys must have "
                         f"the same size to be dotted")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k has {k.shape[-2]} positions but v has {v.shape[-2]}: give one value per key")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., T, S); the scaling keeps their std near 1
    if mask is not None:
        if mask.dtype != torch.bool:
            raise ValueError(f"mask has dtype {mask.dtype}: give a bool mask (True = may attend), "
                             f"e.g. causal_mask(T) or mask.bool()")
        try:
            mask = mask.expand_as(scores)
        except RuntimeError:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' "
                             f"{tuple(scores.shape)}: give it shape (T, S) = {tuple(scores.shape[-2:])}") from None
        if not mask.any(dim=-1).all():
            raise ValueError("a row of mask is all False: that query would attend to nothing (a softmax over "
                             "only -inf is NaN); let every query see at least one key")
        scores = scores.masked_fill(~mask, float("-inf"))  # exp(-inf) = 0: masked keys get no weight
    weights = torch.softmax(scores, dim=-1)  # (..., T, S), each row sums to 1
    return weights @ v, weights


def attend_one(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Return the attention output (Dv,) of one query q (D,) over keys k (S, D) and values v (S, Dv)."""
    if q.dim() != 1:
        raise ValueError(f"q has shape {tuple(q.shape)}: give one query vector (D,); for several use "
                         f"scaled_dot_product_attention")
    return scaled_dot_product_attention(q[None], k, v)[0][0]


class MultiHeadAttention(nn.Module):
    """H attention heads side by side on one sequence (self-attention), with input and output projections.

    The parameters are laid out as in torch.nn.MultiheadAttention (in_proj holds W_q, W_k, W_v stacked),
    so that its weights can be copied in; helpers.models.gpt calls the same two layers c_attn and c_proj.
    """

    def __init__(self, d_model: int, n_heads: int, bias: bool = True):
        super().__init__()
        if n_heads < 1 or d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}: each head gets "
                             f"d_model // n_heads features, so pick n_heads among the divisors of {d_model}")
        self.d_model, self.n_heads = d_model, n_heads
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=bias)  # q, k, v for all heads in one matmul
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)  # mixes what the heads found

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (output (B, T, C), weights (B, H, T, T)) for x (B, T, C) and a bool mask (T, T) or None."""
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"x has shape {tuple(x.shape)}: expected (batch, positions, d_model={self.d_model})")
        B, T, C = x.shape
        q, k, v = self.in_proj(x).split(C, dim=2)  # each (B, T, C)
        # split C into H heads of D features and move heads next to batch: each head attends on its own
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        y, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, H, T, D), (B, H, T, T)
        y = y.transpose(1, 2).reshape(B, T, C)  # heads side by side again
        return self.out_proj(y), weights
