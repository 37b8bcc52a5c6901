"""Checkers for the exercises of notebook 05_decoding (see helpers.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


@exercise()
def check_min_p(min_p_fn) -> None:
    """Check min_p_fn(logits, min_p) against transformers' MinPLogitsWarper (tokens dropped = -inf)."""
    import torch
    from transformers import MinPLogitsWarper

    g = torch.Generator().manual_seed(5)
    logits = torch.cat([3 * torch.randn(3, 30, generator=g), torch.zeros(1, 30)])  # the last row: all tied
    for min_p in (0.05, 0.2, 0.6):
        got = min_p_fn(logits.clone(), min_p)
        if not_done(got, "probs = softmax(logits); drop (set to -inf) tokens with probs < min_p * probs.max(-1)"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == logits.shape, \
            f"expected a tensor of shape {tuple(logits.shape)}, got {described(got)}"
        want = MinPLogitsWarper(min_p)(torch.zeros(4, 1, dtype=torch.long), logits.clone())
        if torch.equal(got, want):
            continue
        assert not (torch.isfinite(got).all() and torch.allclose(got.sum(-1), torch.ones(4))), \
            "that looks like probabilities: return the logits, with the dropped tokens set to float('-inf')"
        probs = logits.softmax(-1)
        assert not torch.equal(torch.isinf(got), probs < min_p), \
            f"min_p={min_p}: the threshold is relative: min_p times the most likely token's probability"
        assert not torch.equal(torch.isinf(got), logits < min_p * logits.amax(-1, keepdim=True)), \
            f"min_p={min_p}: compare probabilities (softmax of the logits), not the logits themselves"
        assert torch.equal(torch.isinf(got), torch.isinf(want)), \
            f"min_p={min_p}: you keep {int(torch.isfinite(got).sum())} tokens, min-p keeps " \
            f"{int(torch.isfinite(want).sum())}: keep exactly those with probs >= min_p * probs.max(-1, keepdim=True)"
        raise AssertionError(f"min_p={min_p}: the right tokens are dropped, but kept tokens must keep their "
                             f"logits unchanged (use masked_fill with float('-inf'))")
    passed("min_p matches transformers' MinPLogitsWarper")


@exercise()
def check_repetition_penalty(penalty_fn) -> None:
    """Check penalty_fn(logits (B, V), ids (B, T), penalty) against transformers' RepetitionPenaltyLogitsProcessor."""
    import torch
    from transformers import RepetitionPenaltyLogitsProcessor

    g = torch.Generator().manual_seed(6)
    logits = 2 * torch.randn(2, 12, generator=g)
    ids = torch.tensor([[1, 3, 3, 7, 1], [0, 5, 11, 5, 5]])  # repeats: a token is penalised once, however often it came
    for penalty in (1.5, 1.2):
        got = penalty_fn(logits.clone(), ids.clone(), penalty)
        if not_done(got, "for each token in ids: divide its logit by penalty if > 0, multiply it if < 0"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == logits.shape, \
            f"expected a tensor of shape {tuple(logits.shape)}, got {described(got)}"
        want = RepetitionPenaltyLogitsProcessor(penalty)(ids.clone(), logits.clone())
        if torch.allclose(got, want, atol=1e-6):
            continue
        seen = torch.zeros_like(logits, dtype=torch.bool).scatter(1, ids, True)
        assert torch.allclose(got[~seen], logits[~seen]), \
            "a token that is not in ids must keep its logit: penalise only the tokens already generated"
        assert not torch.allclose(got[seen], logits[seen] / penalty, atol=1e-6), \
            "dividing a negative logit by the penalty raises it (-2 / 1.5 = -1.33): multiply negative logits instead"
        raise AssertionError("penalise each token of ids once (not once per occurrence): "
                             "where(logit > 0, logit / penalty, logit * penalty)")
    passed("repetition_penalty matches transformers' RepetitionPenaltyLogitsProcessor")


@exercise()
def check_kv_cache_bytes(bytes_fn) -> None:
    """Check bytes_fn(n_layer, n_embd, seq_len, batch_size, bytes_per_value) against real KV caches."""
    import torch

    from helpers.model import GPT, GPTConfig

    for n_layer, n_embd, seq_len, batch, dtype in ((1, 8, 5, 1, torch.float32), (3, 16, 7, 5, torch.float32),
                                                   (2, 24, 9, 3, torch.bfloat16)):
        bytes_per_value = torch.finfo(dtype).bits // 8
        got = bytes_fn(n_layer, n_embd, seq_len, batch, bytes_per_value)
        if not_done(got, "every layer keeps a key and a value vector of n_embd numbers per token of every sequence"):
            return
        model = GPT(GPTConfig(vocab_size=11, block_size=seq_len, n_layer=n_layer, n_head=2, n_embd=n_embd)).to(dtype)
        cache = model.new_cache()
        with torch.no_grad():
            model(torch.zeros(batch, seq_len, dtype=torch.long), cache=cache)
        want = sum(t.nelement() * t.element_size() for layer in cache for t in (layer.k, layer.v))
        shape = f"n_layer={n_layer}, n_embd={n_embd}, seq_len={seq_len}, batch_size={batch}, bytes={bytes_per_value}"
        assert got != want // 2, f"{shape}: got {got}, half of it: the cache holds keys AND values"
        assert got != want // n_layer or n_layer == 1, f"{shape}: got {got}: every one of the n_layer layers has its own cache"
        assert got != want // batch or batch == 1, f"{shape}: got {got}: each sequence in the batch has its own cache"
        assert got == want, f"{shape}: got {got}, the real cache takes {want} bytes"
    passed("your formula matches the bytes of real KV caches")
