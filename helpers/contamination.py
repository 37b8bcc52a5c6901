"""Was this text in the training data? Per-token log-probabilities, and the Min-K% score built on them.

A model that has read a text many times predicts its tokens well everywhere; on a text it never
saw, some tokens surprise it badly. Min-K% Prob (Shi et al. 2023, "Detecting Pretraining Data from
Large Language Models") averages only the k% *least* likely tokens of a text: on a seen text even
those are fairly likely, on an unseen one they are very unlikely. Compare a text's score with texts
of the same kind and length that cannot have been in the training data (written after the model,
or the same text shuffled): a score well above theirs suggests the text was trained on.

    scores = [min_k_prob(model, tokenizer, text) for text in texts]   # higher: more likely seen
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .pretrained import logits_of


@torch.no_grad()
def token_logprobs(model, tokenizer, text: str, max_tokens: int = 512) -> torch.Tensor:
    """Return log p(token_t | tokens before t) for each token of ``text`` after the first, (T-1,)."""
    ids = tokenizer.encode(text, add_special_tokens=False)[:max_tokens]
    if len(ids) < 2:
        raise ValueError(f"the text has {len(ids)} token(s): give at least two tokens to score")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    idx = torch.tensor([ids], device=device)
    logits = logits_of(model, idx[:, :-1]).float()  # (1, T-1, vocab)
    model.train(was_training)
    return -F.cross_entropy(logits[0], idx[0, 1:], reduction="none").cpu()  # (T-1,)


def min_k_prob(model, tokenizer, text: str, k: float = 0.2, max_tokens: int = 512) -> float:
    """Return the mean log-probability of the k% least likely tokens of ``text`` (higher: more likely seen)."""
    if not 0 < k <= 1:
        raise ValueError(f"k={k}: give the share of tokens to average, between 0 (exclusive) and 1, e.g. 0.2")
    logps = token_logprobs(model, tokenizer, text, max_tokens)
    lowest = logps.sort().values[:max(1, int(k * len(logps)))]
    return lowest.mean().item()


def mean_logprob(model, tokenizer, text: str, max_tokens: int = 512) -> float:
    """Return the mean log-probability per token of ``text`` (minus its loss; k = 100% of Min-K%)."""
    return token_logprobs(model, tokenizer, text, max_tokens).mean().item()
