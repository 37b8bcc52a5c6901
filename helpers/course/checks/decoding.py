"""Checkers for the exercises of notebook 05_decoding (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


def _top_p_variants(logits, p):
    """Return top-p written with each of the usual mistakes, by name (for the hints)."""

    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(-1)
    before = probs.cumsum(-1) - probs
    unsorted = logits.softmax(-1)

    def back(drop_sorted):
        return drop_sorted.scatter(-1, order, drop_sorted)

    return {
        "crossing": (logits.masked_fill(back(probs.cumsum(-1) > p), float("-inf")),
                     "you drop the token that makes the mass reach p; keep it: drop a token only when the mass "
                     "*before* it (cumsum minus its own probability) already reaches p"),
        "unsorted": (logits.masked_fill(unsorted.cumsum(-1) - unsorted >= p, float("-inf")),
                     "sort the probabilities in descending order before the cumulative sum"),
        "order": (sorted_logits.masked_fill(before >= p, float("-inf")),
                  "the result is in sorted order: scatter the mask back to vocabulary order with the sort's indices"),
        "axis": (logits.masked_fill(back(sorted_logits.softmax(0).cumsum(-1) - sorted_logits.softmax(0) >= p),
                                    float("-inf")), "take the softmax over the vocabulary, the last dimension"),
        "probs": (logits.masked_fill(back(before >= p), float("-inf")).softmax(-1),
                  "that looks like probabilities: return the logits, with the dropped tokens set to float('-inf')"),
    }


@exercise(fallback="helpers.generation.sampling.top_p_filter")
def check_top_p(top_p_fn) -> None:
    """Check top_p_fn(logits (B, V), p) against helpers.generation.sampling.top_p_filter
    (= transformers' TopPLogitsWarper)."""
    import torch

    from helpers.generation.sampling import top_p_filter

    g = torch.Generator().manual_seed(4)
    known = torch.tensor([[0.05, 0.5, 0.15, 0.3], [0.3, 0.05, 0.15, 0.5]]).log()  # cumulative, sorted: 0.5 0.8 0.95 1
    cases = [(known, 0.75, "the top 2 reach 0.75"), (known, 0.85, "0.5 + 0.3 < 0.85: 3 tokens"),
             (known, 0.3, "the top token alone reaches 0.3"),
             (2.5 * torch.randn(3, 40, generator=g), 0.9, "random rows"), (2.5 * torch.randn(3, 40, generator=g), 0.5,
                                                                           "random rows")]
    for logits, p, why in cases:
        got = top_p_fn(logits.clone(), p)
        if not_done(got, "work the statement's row by hand first (probabilities 0.5, 0.3, 0.15, 0.05, p = 0.75): "
                         "which tokens stay, and what decides where the cut falls?"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == logits.shape, \
            f"expected a tensor of shape {tuple(logits.shape)}, got {described(got)}"
        want = top_p_filter(logits, p)
        if torch.equal(got, want):
            continue
        for variant, hint in _top_p_variants(logits, p).values():
            if torch.allclose(got, variant, atol=1e-6, equal_nan=True) and \
                    torch.equal(torch.isinf(got), torch.isinf(variant)):
                raise AssertionError(f"p={p} ({why}): {hint}")
        _same_tokens_kept(got, want, f"p={p} ({why})", "top-p")
    passed("top_p_filter keeps the smallest set of most likely tokens that reaches p, "
           "as helpers.generation.sampling does")


def _same_tokens_kept(got, want, case: str, method: str, how: str = "") -> None:
    """Fail with the count of kept tokens when ``got`` drops others than ``want``, else because kept logits changed.

    Called once ``got`` differs from ``want``: both filters set dropped tokens to -inf and leave the rest alone.
    """
    import torch

    assert torch.equal(torch.isinf(got), torch.isinf(want)), \
        f"{case}: you keep {torch.isfinite(got).sum(-1).tolist()} tokens per row, {method} keeps " \
        f"{torch.isfinite(want).sum(-1).tolist()}" + (f": {how}" if how else "")
    raise AssertionError(f"{case}: the right tokens are dropped, but the kept ones must keep their logits unchanged "
                         f"(masked_fill with float('-inf'))")


@exercise(fallback="helpers.generation.sampling.min_p_filter")
def check_min_p(min_p_fn) -> None:
    """Check min_p_fn(logits, min_p) against transformers' MinPLogitsWarper (tokens dropped = -inf)."""
    import torch
    from transformers import MinPLogitsWarper

    g = torch.Generator().manual_seed(5)
    logits = torch.cat([3 * torch.randn(3, 30, generator=g), torch.zeros(1, 30)])  # the last row: all tied
    for min_p in (0.05, 0.2, 0.6):
        got = min_p_fn(logits.clone(), min_p)
        if not_done(got, "the cut-off is a probability: for a row whose top token has probability 0.6, which "
                         "tokens does min_p = 0.1 keep?"):
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
        _same_tokens_kept(got, want, f"min_p={min_p}", "min-p",
                          "keep exactly the tokens whose probability reaches min_p times the row's largest")
    passed("min_p matches transformers' MinPLogitsWarper")


@exercise(fallback="helpers.generation.sampling.repetition_penalty")
def check_repetition_penalty(penalty_fn) -> None:
    """Check penalty_fn(logits (B, V), ids (B, T), penalty) against transformers' RepetitionPenaltyLogitsProcessor."""
    import torch
    from transformers import RepetitionPenaltyLogitsProcessor

    g = torch.Generator().manual_seed(6)
    logits = 2 * torch.randn(2, 12, generator=g)
    ids = torch.tensor([[1, 3, 3, 7, 1], [0, 5, 11, 5, 5]])  # repeats: a token is penalised once, however often it came
    for penalty in (1.5, 1.2):
        got = penalty_fn(logits.clone(), ids.clone(), penalty)
        if not_done(got, "which logits change? only those of the tokens in ids, each once; the sign rule of the "
                         "statement says how"):
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
        raise AssertionError("penalise each token of ids once (not once per occurrence), with the statement's "
                             "sign rule")
    passed("repetition_penalty matches transformers' RepetitionPenaltyLogitsProcessor")


@exercise(fallback="helpers.models.kv_cache.kv_cache_bytes")
def check_kv_cache_bytes(bytes_fn) -> None:
    """Check bytes_fn(n_layer, n_embd, seq_len, batch_size, bytes_per_value) against real KV caches."""
    import torch

    from helpers.models.gpt import GPT, GPTConfig

    for n_layer, n_embd, seq_len, batch, dtype in ((1, 8, 5, 1, torch.float32), (3, 16, 7, 5, torch.float32),
                                                   (2, 24, 9, 3, torch.bfloat16)):
        bytes_per_value = torch.finfo(dtype).bits // 8
        got = bytes_fn(n_layer, n_embd, seq_len, batch, bytes_per_value)
        if not_done(got, "count the numbers the cache holds, then their bytes: what does one layer keep for one "
                         "token of one sequence?"):
            return
        model = GPT(GPTConfig(vocab_size=11, block_size=seq_len, n_layer=n_layer, n_head=2, n_embd=n_embd)).to(dtype)
        cache = model.new_cache()
        with torch.no_grad():
            model(torch.zeros(batch, seq_len, dtype=torch.long), cache=cache)
        want = sum(t.nelement() * t.element_size() for layer in cache for t in (layer.k, layer.v))
        shape = f"n_layer={n_layer}, n_embd={n_embd}, seq_len={seq_len}, batch_size={batch}, bytes={bytes_per_value}"
        assert got != want // 2, f"{shape}: got {got}, half of it: the cache holds keys AND values"
        assert got != want // n_layer or n_layer == 1, \
            f"{shape}: got {got}: every one of the n_layer layers has its own cache"
        assert got != want // batch or batch == 1, f"{shape}: got {got}: each sequence in the batch has its own cache"
        assert got == want, f"{shape}: got {got}, the real cache takes {want} bytes"
    passed("your formula matches the bytes of real KV caches")


def _attend(attn, x, cache, scale=True, offset=True, softmax_dim=-1, masked=True, use_cache=True):
    """Return cached attention written out, optionally with one of the usual mistakes (for the hints)."""
    import math

    import torch

    B, T, C = x.shape
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, attn.n_head, C // attn.n_head).transpose(1, 2) for t in (q, k, v))
    if use_cache:
        k, v = cache.append(k, v)
    scores = q @ k.transpose(-2, -1) / (math.sqrt(k.size(-1)) if scale else 1.0)
    if masked:
        allowed = torch.ones(T, k.size(2), dtype=torch.bool).tril(diagonal=k.size(2) - T if offset else 0)
        scores = scores.masked_fill(~allowed, float("-inf"))
    y = scores.softmax(dim=softmax_dim).nan_to_num() @ v
    return attn.c_proj(y.transpose(1, 2).reshape(B, T, C))


@exercise(fallback="helpers.models.kv_cache.attention_with_cache")
def check_attention_with_cache(attn_fn) -> None:
    """Check attn_fn(attn, x, cache) piece by piece against helpers.models.gpt's attention with its LayerCache."""
    import copy

    import torch

    from helpers.models.gpt import GPT, GPTConfig
    from helpers.models.kv_cache import LayerCache

    torch.manual_seed(0)
    attn = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=1, n_head=2, n_embd=16)).blocks[0].attn.eval()
    x = torch.randn(2, 12, 16)
    pieces = [(0, 5, "the prefill (5 tokens, empty cache)"), (5, 6, "one new token after 5 cached"),
              (6, 9, "3 new tokens after 6 cached"), (9, 10, "one token"), (10, 11, "one token"), (11, 12, "one token")]
    mistakes = {"scale": (dict(scale=False), "divide the scores by sqrt(head size), k.size(-1)"),
                "mask": (dict(masked=False), "mask the keys of later positions: a new token must not see the future"),
                "offset": (dict(offset=False), "the new tokens sit at positions past..past+T-1: new token i sees "
                                               "keys 0..past+i, so the causal mask must be shifted by past"),
                "softmax": (dict(softmax_dim=-2), "the softmax runs over the keys, the last dimension of the scores"),
                "cache": (dict(use_cache=False), "append the new keys and values to the cache (cache.append) "
                                                 "and attend over everything it returns")}
    mine, ref = LayerCache(), LayerCache()
    with torch.no_grad():
        for start, end, what in pieces:
            before = copy.deepcopy(mine)
            got = attn_fn(attn, x[:, start:end], mine)
            if not_done(got, "start from notebook 01's multi-head attention for the new tokens alone; then ask "
                             "which keys each new token may see once the cache holds past tokens"):
                return
            want = attn(x[:, start:end], ref)  # helpers.models.gpt's CausalSelfAttention with its own LayerCache
            assert isinstance(got, torch.Tensor) and got.shape == want.shape, \
                f"{what}: expected a tensor of shape {tuple(want.shape)} (B, T_new, C), got {described(got)}"
            if torch.allclose(got, want, atol=1e-5):
                continue
            for variant, hint in mistakes.values():
                if len(before) == start and torch.allclose(got, _attend(attn, x[:, start:end], copy.deepcopy(before),
                                                                           **variant), atol=1e-5):
                    raise AssertionError(f"{what}: {hint}")
            assert len(mine) == end, f"{what}: the cache holds {len(mine)} tokens, it should hold {end}: " \
                                     f"{mistakes['cache'][1]}"
            raise AssertionError(f"{what}: the output differs from helpers.models.gpt's cached attention "
                                 f"(max difference {(got - want).abs().max():.2g})")
    assert torch.allclose(mine.k, ref.k) and torch.allclose(mine.v, ref.v), \
        "the outputs match but the cache holds other keys or values: append k and v as (B, H, T, D)"
    passed("your cached attention matches helpers.models.gpt's, in a prefill, one token at a time and several at once")
