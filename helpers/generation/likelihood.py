"""How likely a model finds a text: the logits of any model, and perplexity.

Both work with a course model (``GPT``, ``Llama``: ``model(idx)`` returns ``(logits, loss)``) and with
a ``transformers`` causal LM (``model(idx).logits``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def logits_of(model, idx):
    """Return logits (B, T, vocab) from a course model (returns a tuple) or a transformers one."""
    out = model(idx)
    return out[0] if isinstance(out, tuple) else out.logits


def perplexity(model, tokenizer, texts, block_size: int = 512, batch_size: int = 4) -> float:
    """Return exp(mean next-token loss) over ``texts``: each text scored on its own, in windows.

    The mean is per token over all texts together, so a long text weighs more than a short one.
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        raise ValueError("perplexity of no texts: give at least one string")
    windows = []  # non-overlapping windows of at most block_size + 1 tokens; each predicts its own tail
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False)
        for start in range(0, max(len(ids) - 1, 1), block_size):
            window = ids[start:start + block_size + 1]
            if len(window) >= 2:
                windows.append(window)
    if not windows:
        raise ValueError("every text is shorter than two tokens: nothing to predict")
    device = next(model.parameters()).device
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, len(windows), batch_size):
            chunk = windows[i:i + batch_size]
            width = max(len(w) for w in chunk)
            idx = torch.zeros(len(chunk), width, dtype=torch.long, device=device)
            mask = torch.zeros(len(chunk), width, dtype=torch.bool, device=device)
            for row, w in enumerate(chunk):  # right-padded: a causal model never looks right
                idx[row, :len(w)] = torch.tensor(w)
                mask[row, :len(w)] = True
            logits = logits_of(model, idx[:, :-1]).float()  # (B, T-1, vocab)
            loss = F.cross_entropy(logits.transpose(1, 2), idx[:, 1:], reduction="none")  # (B, T-1)
            keep = mask[:, 1:]
            total += loss[keep].sum().item()
            count += int(keep.sum())
    model.train(was_training)
    return math.exp(total / count)
