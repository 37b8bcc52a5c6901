"""The modern GPT block (Llama style) that SmolLM2 uses, built next to helpers.models.gpt's GPT-2 block.

Four changes from GPT-2: RMSNorm instead of LayerNorm, rotary position embeddings (RoPE) instead
of a learned position table, a SwiGLU MLP instead of GELU, and grouped-query attention (GQA: a few
key/value heads shared by all the query heads). ``Llama.from_transformers`` loads the weights of a
``transformers`` LlamaForCausalLM; ``helpers.data.pretrained.load_llama()`` does it for the offline SmolLM2-135M.

Shapes in comments: B batch, T time (tokens), C channels (n_embd), H query heads, K key/value
heads, D head size (C // H), F the MLP's hidden width (hidden_dim).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .gpt import check_ids
from .kv_cache import KVCache, LayerCache


@dataclass
class LlamaConfig:
    vocab_size: int = 49152
    block_size: int = 8192  # the longest context; RoPE tables are precomputed this long
    n_layer: int = 30
    n_head: int = 9  # query heads
    n_kv_head: int = 3  # key/value heads, each shared by n_head // n_kv_head query heads
    n_embd: int = 576
    hidden_dim: int = 1536  # SwiGLU width, about 8/3 * n_embd: three matrices cost what GPT-2's two did
    rope_theta: float = 100000.0
    norm_eps: float = 1e-5
    tie_weights: bool = True

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} must be a multiple of n_head={self.n_head}: "
                             f"each head gets n_embd // n_head channels")
        if self.n_head % self.n_kv_head:
            raise ValueError(f"n_head={self.n_head} must be a multiple of n_kv_head={self.n_kv_head}: "
                             f"each key/value head serves the same number of query heads")
        if (self.n_embd // self.n_head) % 2:
            raise ValueError(f"head size {self.n_embd // self.n_head} is odd: RoPE rotates pairs of channels, "
                             f"choose n_embd and n_head so that n_embd // n_head is even")

    @classmethod
    def from_hf(cls, hf_config) -> LlamaConfig:
        """Return the LlamaConfig of a ``transformers`` LlamaConfig (plain RoPE, no biases)."""
        rope = getattr(hf_config, "rope_parameters", None) or {"rope_theta": getattr(hf_config, "rope_theta", 10000.0)}
        if rope.get("rope_type", "default") != "default":
            raise ValueError(f"rope_type={rope['rope_type']!r} (RoPE scaling) is not implemented here: "
                             f"use a model with plain RoPE, such as the default 'smollm2-135m'")
        if getattr(hf_config, "attention_bias", False) or getattr(hf_config, "mlp_bias", False):
            raise ValueError("this model has biases in attention or MLP layers, which helpers.models.llama leaves out")
        head_dim = getattr(hf_config, "head_dim", None)
        if head_dim and head_dim * hf_config.num_attention_heads != hf_config.hidden_size:
            raise ValueError(f"head_dim={head_dim} x {hf_config.num_attention_heads} heads != hidden_size "
                             f"{hf_config.hidden_size}: helpers.models.llama assumes head size = n_embd // n_head")
        return cls(vocab_size=hf_config.vocab_size, block_size=hf_config.max_position_embeddings,
                   n_layer=hf_config.num_hidden_layers, n_head=hf_config.num_attention_heads,
                   n_kv_head=hf_config.num_key_value_heads, n_embd=hf_config.hidden_size,
                   hidden_dim=hf_config.intermediate_size, rope_theta=float(rope["rope_theta"]),
                   norm_eps=hf_config.rms_norm_eps, tie_weights=bool(hf_config.tie_word_embeddings))


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Return x (..., C) divided by its root mean square over the C channels, times ``weight`` (C,)."""
    x32 = x.float()  # the mean of squares in fp32 even when the model runs in half precision
    return weight * (x32 * torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + eps)).to(x.dtype)


class RMSNorm(nn.Module):
    """LayerNorm without the mean and the bias: divide by the root mean square, then scale."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps)


def rope_tables(length: int, head_dim: int, theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (cos, sin), each (length, head_dim): the rotation angles of every position and channel pair."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float) / head_dim)  # (D/2,) fast to slow
    angles = torch.outer(torch.arange(length, dtype=torch.float), inv_freq)  # (T, D/2) position * frequency
    angles = torch.cat([angles, angles], dim=-1)  # (T, D): channel i pairs with channel i + D/2
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """Return (-x2, x1) for x = (x1, x2) split in halves on the last axis: each pair turned by 90 degrees."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Return x (..., T, D) with each channel pair (i, i + D/2) rotated by its position's angle."""
    return x * cos + rotate_half(x) * sin


def rope(x: torch.Tensor, theta: float = 10000.0) -> torch.Tensor:
    """Return x (..., T, D), the vectors of positions 0..T-1, each rotated by RoPE (pairs i, i + D/2)."""
    T, D = x.shape[-2:]
    cos, sin = rope_tables(T, D, theta)
    return apply_rope(x, cos.to(x.device, x.dtype), sin.to(x.device, x.dtype))


def rope_interleaved(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Return x (..., T, D) with neighbouring pairs (2i, 2i+1) turned by angles (T, D/2): RoFormer's layout."""
    a, b = x[..., 0::2], x[..., 1::2]  # (..., T, D/2) each
    cos, sin = angles.cos(), angles.sin()
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)  # (..., T, D/2, 2) -> (..., T, D)


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Return (B, K * n_rep, T, D) from (B, K, T, D): each key/value head repeated for its query heads."""
    return x if n_rep == 1 else x.repeat_interleave(n_rep, dim=1)


def grouped_query_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Return causal attention (B, H, T, D) of queries q (B, H, T, D) over keys, values (B, K, T, D), K | H."""
    n_rep = q.size(1) // k.size(1)
    return F.scaled_dot_product_attention(q, repeat_kv(k, n_rep), repeat_kv(v, n_rep), is_causal=q.size(2) > 1)


class Attention(nn.Module):
    """Causal self-attention with RoPE on queries and keys and n_kv_head shared key/value heads."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.n_head, self.n_kv_head = config.n_head, config.n_kv_head
        self.head_dim = config.n_embd // config.n_head
        self.q_proj = nn.Linear(config.n_embd, config.n_head * self.head_dim, bias=False)
        self.k_proj = nn.Linear(config.n_embd, config.n_kv_head * self.head_dim, bias=False)  # smaller: GQA
        self.v_proj = nn.Linear(config.n_embd, config.n_kv_head * self.head_dim, bias=False)
        self.o_proj = nn.Linear(config.n_head * self.head_dim, config.n_embd, bias=False)
        self.keep_weights = False  # set by Llama.attention_maps: then forward keeps (B, H, T, T_all) in .weights
        self.weights = None

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: LayerCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)  # (B, K, T, D)
        v = self.v_proj(x).view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)  # (B, K, T, D)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)  # positions enter here, not in the embedding
        past = 0 if cache is None else len(cache)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, K, past + T, D): the cache keeps only the K shared heads
        n_rep = self.n_head // self.n_kv_head
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)  # (B, H, past + T, D)
        if self.keep_weights:
            allowed = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # (B, H, T, past + T)
            self.weights = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
            y = self.weights @ v  # (B, H, T, D)
        elif past == 0 or T == 1:  # the prompt alone is causal; one new token may look at everything cached
            y = F.scaled_dot_product_attention(q, k, v, is_causal=past == 0 and T > 1)
        else:  # several new tokens after a cached prefix: query i sees keys up to past + i
            mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    """SwiGLU: a SiLU-activated gate multiplies a second linear map, then project back."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.n_embd, config.hidden_dim, bias=False)
        self.up_proj = nn.Linear(config.n_embd, config.hidden_dim, bias=False)
        self.down_proj = nn.Linear(config.hidden_dim, config.n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))  # (B, T, F) -> (B, T, C)


class Block(nn.Module):
    """Pre-norm block, as GPT-2's: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.norm_1 = RMSNorm(config.n_embd, config.norm_eps)
        self.attn = Attention(config)
        self.norm_2 = RMSNorm(config.n_embd, config.norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: LayerCache | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm_1(x), cos, sin, cache)
        x = x + self.mlp(self.norm_2(x))
        return x


# our parameter names <- transformers' LlamaForCausalLM names
HF_NAMES = (("wte.", "model.embed_tokens."), ("blocks.", "model.layers."), (".attn.", ".self_attn."),
            (".norm_1.", ".input_layernorm."), (".norm_2.", ".post_attention_layernorm."), ("norm_f.", "model.norm."))


def hf_name(name: str) -> str:
    """Return the transformers LlamaForCausalLM name of our parameter ``name``."""
    for ours, theirs in HF_NAMES:
        name = name.replace(ours, theirs)
    return name


class Llama(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # no position table: RoPE acts inside attention
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm_f = RMSNorm(config.n_embd, config.norm_eps)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight
        self._set_rope_tables()
        for module in self.modules():  # random weights, for training from scratch; from_transformers overwrites them
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def _set_rope_tables(self, device=None) -> None:
        cos, sin = rope_tables(self.config.block_size, self.config.n_embd // self.config.n_head, self.config.rope_theta)
        self.register_buffer("rope_cos", cos.to(device), persistent=False)  # (block_size, D), computed once
        self.register_buffer("rope_sin", sin.to(device), persistent=False)

    def num_params(self) -> int:
        """Return the parameter count (tied weights once)."""
        return sum(p.numel() for p in self.parameters())

    def new_cache(self) -> KVCache:
        """Return an empty KV cache for ``forward(idx, cache=...)``."""
        return KVCache(self.config.n_layer)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None):
        """Return (logits (B, T, vocab), loss or None) for token ids idx (B, T);
        with a cache, positions go on after it."""
        past = 0 if cache is None else cache.length
        B, T = check_ids(idx, past, self.config.block_size)
        x = self.wte(idx)  # (B, T, C)
        cos = self.rope_cos[past:past + T].to(x.dtype)  # (T, D) the angles of positions past .. past + T - 1
        sin = self.rope_sin[past:past + T].to(x.dtype)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, None if cache is None else cache[i])
        logits = self.lm_head(self.norm_f(x))  # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> torch.Tensor:
        """Return the attention weights of every layer and head, (n_layer, B, H, T, T), for ids idx (B, T)."""
        attns = [block.attn for block in self.blocks]
        for a in attns:
            a.keep_weights = True
        try:
            self(idx)
            return torch.stack([a.weights for a in attns])
        finally:
            for a in attns:
                a.keep_weights, a.weights = False, None

    @classmethod
    def from_transformers(cls, hf_model) -> Llama:
        """Return a Llama holding the weights of a ``transformers`` LlamaForCausalLM (same device and dtype)."""
        config = LlamaConfig.from_hf(hf_model.config)
        theirs = hf_model.state_dict()
        with torch.device("meta"):  # shapes only: random initial weights would be overwritten anyway
            model = cls(config)
        missing = [hf_name(name) for name in model.state_dict() if hf_name(name) not in theirs]
        if missing:
            raise ValueError(f"the transformers model has no {missing[0]} ({len(missing)} weights missing): "
                             f"give a LlamaForCausalLM")
        model.load_state_dict({name: theirs[hf_name(name)].detach().clone() for name in model.state_dict()},
                              assign=True)
        if config.tie_weights:
            model.lm_head.weight = model.wte.weight
        model._set_rope_tables(next(hf_model.parameters()).device)
        return model.train(hf_model.training)

