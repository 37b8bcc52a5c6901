"""Fine-tuning a pretrained model: LoRA adapters (Part III, V).

LoRA (Hu et al. 2021) freezes the pretrained weights W and learns a low-rank change B·A beside
them, so W·x becomes W·x + (alpha / r)·B·A·x with A (r × in) and B (out × r), B starting at zero.
"""
from __future__ import annotations

import warnings

# peft calls a transformers method that transformers 5 deprecates; nothing for a learner to act on
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def add_lora(model, r: int = 8, alpha: int = 16, dropout: float = 0.0,
             targets: tuple[str, ...] = ("q_proj", "v_proj")):
    """Return ``model`` wrapped by ``peft`` with LoRA adapters on ``targets``; only they train."""
    from peft import LoraConfig, get_peft_model

    if r < 1:
        raise ValueError(f"r={r}: the LoRA rank is a positive number of directions, e.g. 8")
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets),
                        task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def trainable_parameters(model) -> tuple[int, int]:
    """Return (trainable, total) parameter counts of ``model``."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
