"""helpers.analysis.sizing against real models, and the notebook 02 exercise checkers."""
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from helpers.analysis.sizing import (
    CHINESE_GPT3,
    GPT3_CONTEXT,
    GPT3_PAPER,
    GPT3_VOCAB,
    config_params,
    flops_per_token,
    gpt_params,
    human,
    param_breakdown,
    training_days,
    training_memory_bytes,
)
from helpers.course.checks import gpt_block as checks
from helpers.models.gpt import GPT, GPTConfig
from tests.checker_asserts import assert_checker_behaves, rejects


@pytest.mark.parametrize("bias, tied, positions",
                         list(itertools.product([True, False], [True, False], ["learned", "sinusoidal"])))
def test_formula_equals_real_count(bias, tied, positions):
    for n_layer, n_embd, n_head, vocab, block in ((1, 8, 2, 11, 5), (3, 48, 4, 65, 32)):
        config = GPTConfig(vocab_size=vocab, block_size=block, n_layer=n_layer, n_head=n_head, n_embd=n_embd,
                           bias=bias, tie_weights=tied, positions=positions)
        assert config_params(config) == GPT(config).num_params()


def test_breakdown_matches_the_modules():
    config = GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=48)
    model = GPT(config)
    parts = param_breakdown(2, 48, 65, 32)
    assert parts["blocks"] == sum(p.numel() for p in model.blocks.parameters())
    assert parts["position embedding"] == model.wpe.weight.numel()
    assert parts["final norm"] == sum(p.numel() for p in model.ln_f.parameters())
    assert parts["blocks"] == 2 * (12 * 48 ** 2 + 13 * 48)  # the closed form the notebook derives


def test_published_sizes_are_within_two_percent_of_their_names():
    assert all(shape.d_model % shape.n_head == 0 for shape in CHINESE_GPT3)
    for shape in GPT3_PAPER + CHINESE_GPT3:
        if shape.nominal:
            n = gpt_params(shape.n_layer, shape.d_model, GPT3_VOCAB, GPT3_CONTEXT)
            assert abs(n - shape.nominal) / shape.nominal < 0.02, shape
    assert gpt_params(12, 768, 50257, 1024) == 124_439_808  # GPT-2 small, the well-known count


def test_memory_flops_days():
    assert training_memory_bytes(1e9) == 16e9
    assert training_memory_bytes(1e9, bytes_per_param=18) == 18e9
    assert flops_per_token(10) == 60 and flops_per_token(10, training=False) == 20
    assert math.isclose(training_days(1e9, 1e12, 6e21 / 86_400), 1.0)  # 6·N·D FLOPs in one day
    with pytest.raises(ValueError, match="sustained throughput"):
        training_days(1e9, 1e9, 0)
    assert human(124_439_808) == "124.4M" and human(1.3e9) == "1.30B" and human(175e9) == "175.0B"


def test_bad_shape_is_one_line_error():
    with pytest.raises(ValueError, match="n_layer=0"):
        gpt_params(0, 8, 10, 10)
    with pytest.raises(ValueError, match="positions="):
        gpt_params(1, 8, 10, 10, positions="rope")


# --- checkers: the stub is "not done yet", each typical mistake is rejected, the solution passes -----

def _layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def _block(x, ln_1, attn, ln_2, mlp):
    x = x + attn(ln_1(x))
    return x + mlp(ln_2(x))


def _count(n_layer, n_embd, vocab_size, block_size):
    return vocab_size * n_embd + block_size * n_embd + n_layer * (12 * n_embd ** 2 + 13 * n_embd) + 2 * n_embd


def _flops(n_layer, n_embd, vocab_size):
    return 2 * (n_layer * 12 * n_embd ** 2 + vocab_size * n_embd)


def _normalised_residual(x, ln_1, attn, ln_2, mlp):
    h = ln_1(x)
    x = h + attn(h)
    h = ln_2(x)
    return h + mlp(h)


WRONG_LAYER_NORM = [
    lambda x, w, b, eps: (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + eps) * w + b,  # C - 1
    lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], eps=eps),  # no weight, no bias
    lambda x, w, b, eps: (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + eps) * w + b,  # over the whole tensor
    lambda x, w, b, eps: (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True, unbiased=False) + eps) * w + b,
]
WRONG_BLOCK = [
    lambda x, ln_1, attn, ln_2, mlp: (lambda h: ln_2(h + mlp(h)))(ln_1(x + attn(x))),  # post-norm
    lambda x, ln_1, attn, ln_2, mlp: (lambda h: h + mlp(ln_2(h)))(attn(ln_1(x))),  # no residual around attention
    lambda x, ln_1, attn, ln_2, mlp: mlp(ln_2(x + attn(ln_1(x)))),  # no residual around the MLP
    _normalised_residual,
    lambda x, ln_1, attn, ln_2, mlp: x + attn(ln_1(x)) + mlp(ln_2(x)),  # parallel
    lambda x, ln_1, attn, ln_2, mlp: _block(x, ln_2, attn, ln_1, mlp),  # norms swapped
]
WRONG_COUNT = [
    lambda L, C, V, T: _count(L, C, V, T) + V * C,  # lm_head counted again
    lambda L, C, V, T: _count(L, C, V, T) - T * C,  # no positions
    lambda L, C, V, T: _count(L, C, V, T) - 2 * C,  # no ln_f
    lambda L, C, V, T: _count(L, C, V, T) - L * 4 * C,  # no LayerNorms in the blocks
    lambda L, C, V, T: _count(L, C, V, T) - L * 9 * C,  # no Linear biases
]
WRONG_FLOPS = [
    lambda L, C, V: _flops(L, C, V) // 2,  # 1 FLOP per weight
    lambda L, C, V: 2 * L * 12 * C * C,  # no lm_head
    lambda L, C, V: 2 * (L * 8 * C * C + V * C),  # an MLP of width 2C
]


@pytest.mark.parametrize("checker, solution, wrongs", [
    (checks.check_layer_norm, _layer_norm, WRONG_LAYER_NORM),
    (checks.check_block_forward, _block, WRONG_BLOCK),
    (checks.check_param_count, _count, WRONG_COUNT),
    (checks.check_forward_flops, _flops, WRONG_FLOPS),
], ids=["layer_norm", "block_forward", "param_count", "forward_flops"])
def test_checkers(checker, solution, wrongs, capsys):
    assert_checker_behaves(checker, lambda *args: None, solution, wrongs, capsys)


@pytest.mark.parametrize("index, words", [(0, "post-norm"), (1, "attention's result replaces x"),
                                          (2, "MLP's result replaces x"), (3, "normalised copy"), (4, "parallel"),
                                          (5, "ln_1 goes with attn")])
def test_block_hints(capsys, index, words):
    with rejects(capsys, words):
        checks.check_block_forward(WRONG_BLOCK[index])


@pytest.mark.parametrize("index, words", [(0, "tied"), (1, "position table"), (2, "ln_f"), (3, "two LayerNorms"),
                                          (4, "biases")])
def test_param_count_hints(capsys, index, words):
    with rejects(capsys, words):
        checks.check_param_count(WRONG_COUNT[index])


def test_fallbacks_are_the_course_implementations(capsys):
    from helpers.analysis.sizing import linear_flops_per_token
    from helpers.models.gpt import layer_norm, pre_norm_block

    assert linear_flops_per_token(3, 24, 50) == _flops(3, 24, 50)
    assert checks.check_param_count(lambda *a: None) is gpt_params
    assert checks.check_forward_flops(lambda *a: None) is linear_flops_per_token
    assert checks.check_layer_norm(lambda *a: None) is layer_norm
    assert checks.check_block_forward(lambda *a: None) is pre_norm_block


def test_chinese_series_carries_its_card_columns():
    rates = [s.lr for s in CHINESE_GPT3]
    assert all(r is not None for r in rates) and all(s.batch for s in CHINESE_GPT3)
    assert rates[:-1] == sorted(rates[:-1], reverse=True)  # falls with size up to 30B
    assert "training" in CHINESE_GPT3[-1].note
