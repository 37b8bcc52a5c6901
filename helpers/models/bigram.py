"""The simplest language model: a table of next-token counts (notebook 04's baseline).

Every pair (current token, next token) of the training ids is counted, one is added to every count
so that no pair gets probability 0, and each row is normalised: p(next | current).
"""
from __future__ import annotations

import torch


def bigram_loss(train_ids, val_ids, vocab_size: int) -> float:
    """Return the mean val loss (nats) of the bigram table counted on train_ids, every count + 1."""
    counts = torch.ones(vocab_size, vocab_size)  # add-one: no pair gets probability 0
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1), accumulate=True)
    log_probs = (counts / counts.sum(dim=1, keepdim=True)).log()  # row = current char, column = next
    return -log_probs[val_ids[:-1], val_ids[1:]].mean().item()
