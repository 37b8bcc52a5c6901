"""LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"), from scratch and via peft.

LoRA freezes a pretrained weight W (out × in) and learns a low-rank change beside it:

    h = W·x + (alpha / r)·B·A·x        A (r × in) random, B (out × r) zero at the start

so at step 0 the adapted layer computes exactly what the pretrained one did. ``LoRALinear`` is that
layer in a dozen lines (notebook 08's exercise); ``add_lora`` puts peft's version of it on chosen
projections of a whole ``transformers`` model, which is what ``helpers.training.finetuning`` trains.
"""
from __future__ import annotations

import math
import warnings

import torch
import torch.nn as nn

# peft calls a transformers method that transformers 5 deprecates; nothing for a learner to act on
PEFT_DEPRECATION = dict(message=".*is_gradient_checkpointing.*", category=FutureWarning)
warnings.filterwarnings("ignore", **PEFT_DEPRECATION)


class LoRALinear(nn.Module):
    """``base`` (an nn.Linear, frozen) plus the trainable low-rank change (alpha / r)·B·A."""

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16):
        super().__init__()
        if r < 1:
            raise ValueError(f"r={r}: the LoRA rank is a positive number of directions, e.g. 8")
        self.base = base
        self.base.requires_grad_(False)
        self.A = nn.Parameter(torch.empty(r, base.in_features))  # (r, in)
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # as nn.Linear initialises a weight (peft does too)
        self.B = nn.Parameter(torch.zeros(base.out_features, r))  # (out, r) zero: the layer starts as W
        self.scale = alpha / r

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (..., in)
        return self.base(x) + self.scale * (x @ self.A.T @ self.B.T)  # (..., out)


def lora_parameter_count(shapes, r: int) -> int:
    """Return the parameters LoRA trains for weight matrices of (out, in) ``shapes`` at rank ``r``."""
    return sum(r * (out_dim + in_dim) for out_dim, in_dim in shapes)


def merge_lora(W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float) -> torch.Tensor:
    """Return W + (alpha / r)·B·A: the adapted layer as one matrix again (r = A's rows)."""
    return W + (alpha / A.shape[0]) * (B @ A)


def add_lora(model, r: int = 8, alpha: int = 16, dropout: float = 0.0,
             targets: tuple[str, ...] = ("q_proj", "v_proj"), trainable_tokens=None):
    """Return ``model`` wrapped by ``peft`` with LoRA adapters on ``targets``; only they train.

    ``trainable_tokens`` (token ids, e.g. from ``helpers.training.finetuning.add_tokens``) makes those embedding
    rows train too (peft's trainable_token_indices; with tied embeddings the output rows follow).
    """
    from peft import LoraConfig, get_peft_model

    if r < 1:
        raise ValueError(f"r={r}: the LoRA rank is a positive number of directions, e.g. 8")
    extra = {}
    if trainable_tokens:
        embedding = model.get_input_embeddings()
        name = next(n for n, m in model.named_modules() if m is embedding).rsplit(".", 1)[-1]
        extra["trainable_token_indices"] = {name: [int(i) for i in trainable_tokens]}
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets),
                        task_type="CAUSAL_LM", **extra)
    with warnings.catch_warnings():  # also where a test runner resets the filters
        warnings.filterwarnings("ignore", **PEFT_DEPRECATION)
        return get_peft_model(model, config)


def trainable_parameters(model) -> tuple[int, int]:
    """Return (trainable, total) parameter counts of ``model``."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
