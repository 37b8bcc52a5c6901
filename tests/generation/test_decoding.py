"""Notebook 05's exercise checkers: each says "not done yet" to a stub, rejects a wrong answer, accepts the solution."""
import pytest
import torch

from helpers.course.checks import decoding as checks
from helpers.course.checks.decoding import _attend
from helpers.generation.sampling import top_p_filter
from helpers.models.kv_cache import attention_with_cache
from tests.checker_asserts import assert_checker_behaves


def min_p(logits, min_p):
    probs = logits.softmax(dim=-1)
    return logits.masked_fill(probs < min_p * probs.amax(dim=-1, keepdim=True), float("-inf"))


def repetition_penalty(logits, ids, penalty):
    seen = logits.gather(1, ids)  # (B, T) the logits of the tokens already generated
    return logits.scatter(1, ids, torch.where(seen > 0, seen / penalty, seen * penalty))


def kv_cache_bytes(n_layer, n_embd, seq_len, batch_size, bytes_per_value):
    return 2 * n_layer * batch_size * seq_len * n_embd * bytes_per_value


def _penalise_every_occurrence(logits, ids, penalty):
    out = logits.clone()
    for row in range(ids.size(0)):
        for token in ids[row].tolist():
            out[row, token] = out[row, token] / penalty if out[row, token] > 0 else out[row, token] * penalty
    return out


def _top_p_sorted_order(logits, p):
    sorted_logits, _ = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(-1)
    return sorted_logits.masked_fill(probs.cumsum(-1) - probs >= p, float("-inf"))  # never scattered back


def _top_p_drops_crossing(logits, p):
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    drop = sorted_logits.softmax(-1).cumsum(-1) > p  # off by one: the token that reaches p goes too
    return logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))


def _top_p_unsorted(logits, p):
    probs = logits.softmax(-1)
    return logits.masked_fill(probs.cumsum(-1) - probs >= p, float("-inf"))


def _top_p_wrong_axis(logits, p):
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(0)
    drop = probs.cumsum(-1) - probs >= p
    return logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))


CASES = [
    (checks.check_top_p, lambda logits, p: None, top_p_filter, [
        _top_p_drops_crossing, _top_p_unsorted, _top_p_sorted_order, _top_p_wrong_axis,
        lambda logits, p: top_p_filter(logits, p).softmax(-1),  # probabilities instead of logits
        # the kept logits rescaled
        lambda logits, p: torch.where(torch.isfinite(top_p_filter(logits, p)), logits / 2, float("-inf")),
    ]),
    (checks.check_attention_with_cache, lambda attn, x, cache: None, attention_with_cache, [
        lambda attn, x, cache: _attend(attn, x, cache, scale=False),  # no 1/sqrt(D)
        lambda attn, x, cache: _attend(attn, x, cache, masked=False),  # sees the future in the prefill
        lambda attn, x, cache: _attend(attn, x, cache, offset=False),  # tril() ignores the cached length
        lambda attn, x, cache: _attend(attn, x, cache, softmax_dim=-2),  # softmax over the queries
        lambda attn, x, cache: _attend(attn, x, cache, use_cache=False),  # never appends to the cache
    ]),
    (checks.check_min_p, lambda logits, p: None, min_p, [
        lambda logits, p: logits.masked_fill(logits.softmax(-1) < p, float("-inf")),  # absolute threshold
        lambda logits, p: logits.masked_fill(logits < p * logits.amax(-1, keepdim=True), float("-inf")),  # on logits
        lambda logits, p: min_p(logits, p).softmax(-1),  # probabilities instead of logits
    ]),
    (checks.check_repetition_penalty, lambda logits, ids, p: None, repetition_penalty, [
        lambda logits, ids, p: logits.scatter(1, ids, logits.gather(1, ids) / p),  # negatives raised
        lambda logits, ids, p: torch.where(logits > 0, logits / p, logits * p),  # every token penalised
        _penalise_every_occurrence,
    ]),
    (checks.check_kv_cache_bytes, lambda *args: None, kv_cache_bytes, [
        lambda L, C, T, B, b: L * B * T * C * b,  # keys only
        lambda L, C, T, B, b: 2 * B * T * C * b,  # one layer
        lambda L, C, T, B, b: 2 * L * T * C * b,  # one sequence
    ]),
]


@pytest.mark.parametrize("check, stub, solution, wrongs", CASES, ids=lambda x: getattr(x, "__name__", ""))
def test_checker_says_not_done_rejects_wrong_and_accepts_solution(check, stub, solution, wrongs, capsys):
    assert_checker_behaves(check, stub, solution, wrongs, capsys)
