"""A GPT-2-style GPT in one file: the model notebook 02 builds step by step, used from Part II on.

Its KV cache (``LayerCache``, ``KVCache``) is in ``helpers.models.kv_cache``.

Shapes in comments: B batch, T time (tokens), C channels (n_embd), H heads, D head size (C // H).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .kv_cache import KVCache, LayerCache


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 256  # the longest context the model sees (positions 0..block_size-1)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in Linear and LayerNorm, as GPT-2 had
    positions: str = "learned"  # "learned" (GPT-2) or "sinusoidal" (the original Transformer)
    tie_weights: bool = True  # lm_head reuses wte's matrix, as GPT-2 and GPT-3 did

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} must be a multiple of n_head={self.n_head} (each head gets "
                             f"n_embd // n_head channels): try n_embd={-(-self.n_embd // self.n_head) * self.n_head}")
        if self.positions not in ("learned", "sinusoidal"):
            raise ValueError(f"positions={self.positions!r}: use 'learned' or 'sinusoidal'")
        if self.positions == "sinusoidal" and self.n_embd % 2:
            raise ValueError(f"sinusoidal positions pair a sine with a cosine: n_embd={self.n_embd} must be even")


def sinusoidal_positions(block_size: int, n_embd: int) -> torch.Tensor:
    """Return the (block_size, n_embd) sine/cosine position table of 'Attention Is All You Need'."""
    if n_embd % 2:
        raise ValueError(f"n_embd={n_embd} is odd: each frequency fills a sine and a cosine column, use an even size")
    position = torch.arange(block_size).unsqueeze(1)  # (T, 1)
    frequency = torch.exp(torch.arange(0, n_embd, 2) * (-math.log(10000.0) / n_embd))  # (C/2,)
    table = torch.zeros(block_size, n_embd)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


def check_ids(idx: torch.Tensor, past: int, block_size: int) -> tuple[int, int]:
    """Return (B, T) of token ids idx; one-line error unless they are (batch, time) and fit the context after past."""
    if idx.dim() != 2:
        raise ValueError(f"idx has shape {tuple(idx.shape)}: give token ids as (batch, time), "
                         f"e.g. idx[None] for one sequence")
    B, T = idx.shape
    if past + T > block_size:
        raise ValueError(f"sequence of {past + T} tokens is longer than block_size={block_size}: "
                         f"crop it to the last {block_size} tokens")
    return B, T


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Return each vector of x (..., C) normalised over its C channels (biased variance), then * weight + bias."""
    return F.layer_norm(x, x.shape[-1:], weight, bias, eps)


def pre_norm_block(x: torch.Tensor, ln_1, attn, ln_2, mlp) -> torch.Tensor:
    """Return x (B, T, C) after a pre-norm block: each sub-layer reads a normalised copy and adds to x."""
    x = x + attn(ln_1(x))  # gather from other positions
    return x + mlp(ln_2(x))  # then process each position


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: LayerCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        past = 0 if cache is None else len(cache)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, H, past + T, D): earlier tokens' keys are reused, not recomputed
        if past == 0:
            mask, causal = None, True
        elif T == 1:
            mask, causal = None, False  # the newest token may look at everything before it
        else:  # several new tokens after a cached prefix: query i sees keys up to past + i
            mask, causal = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past), False
        dropout = self.dropout if self.training else 0.0
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # bf16 speeds up the matmuls, but the CPU's bf16 attention backward is slow: attend in fp32
            q, k, v = q.float(), k.float(), v.float()
            with torch.autocast("cpu", enabled=False):
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, dropout_p=dropout)
        else:
            # (B, H, T, D)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, dropout_p=dropout)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm block: each sub-layer reads a normalised copy and adds its result to the residual stream."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: LayerCache | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache)
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embeddings
        if config.positions == "learned":
            self.wpe = nn.Embedding(config.block_size, config.n_embd)
        else:  # a fixed table, saved with the model but never trained
            self.register_buffer("sinusoid", sinusoidal_positions(config.block_size, config.n_embd))
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight  # one matrix reads and writes tokens

        self.apply(self._init_weights)
        # GPT-2: scale the projections that write into the residual stream by 1/sqrt(2 * n_layer),
        # so the stream's variance does not grow with depth
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self) -> int:
        """Return the parameter count (tied weights once); Kaplan's non-embedding count is analysis.scaling's."""
        return sum(p.numel() for p in self.parameters())

    def new_cache(self) -> KVCache:
        """Return an empty KV cache for ``forward(idx, cache=...)``."""
        return KVCache(self.config.n_layer)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None):
        """Return (logits (B, T, vocab), loss or None) for token ids idx (B, T).

        With a ``cache`` the ids are the tokens that follow those already in it: positions start
        after them, and the cache grows by T.
        """
        past = 0 if cache is None else cache.length
        B, T = check_ids(idx, past, self.config.block_size)
        pos = torch.arange(past, past + T, device=idx.device)
        pos_emb = self.wpe(pos) if self.config.positions == "learned" else self.sinusoid[pos]  # (T, C)
        x = self.drop(self.wte(idx) + pos_emb)  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, None if cache is None else cache[i])
        logits = self.lm_head(self.ln_f(x))  # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss
