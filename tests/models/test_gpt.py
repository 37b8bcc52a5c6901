"""helpers.models.gpt: shapes, the loss at initialisation, positions, weight tying and one-line errors."""
import math

import pytest
import torch

import helpers
from helpers.models.gpt import GPT, GPTConfig, sinusoidal_positions


@pytest.fixture(scope="module")
def plays_ids():
    text = helpers.load_plays()[:20_000]
    chars = sorted(set(text))
    return torch.tensor([chars.index(c) for c in text]), len(chars)


@pytest.mark.download
def test_forward_shapes_and_loss_at_init_is_near_log_vocab(plays_ids):
    ids, vocab = plays_ids
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=vocab, block_size=32, n_layer=2, n_head=4, n_embd=64))
    x = torch.stack([ids[i:i + 32] for i in (0, 500, 9000)])
    y = torch.stack([ids[i + 1:i + 33] for i in (0, 500, 9000)])
    logits, loss = model(x, y)
    assert logits.shape == (3, 32, vocab)
    assert abs(loss.item() - math.log(vocab)) < 0.1  # small init: near-uniform predictions
    logits, loss = model(x[:, :5])
    assert logits.shape == (3, 5, vocab) and loss is None


def test_causal_future_tokens_do_not_change_past_logits():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16)).eval()
    a = torch.randint(0, 20, (1, 8))
    b = a.clone()
    b[0, 5:] = (b[0, 5:] + 1) % 20
    assert torch.allclose(model(a)[0][:, :5], model(b)[0][:, :5], atol=1e-6)
    assert not torch.allclose(model(a)[0][:, 5:], model(b)[0][:, 5:], atol=1e-6)


def test_weight_tying_and_untied_head():
    tied = GPT(GPTConfig(vocab_size=30, n_embd=16, n_head=2, n_layer=1, block_size=8))
    untied = GPT(GPTConfig(vocab_size=30, n_embd=16, n_head=2, n_layer=1, block_size=8, tie_weights=False))
    assert tied.lm_head.weight is tied.wte.weight
    assert untied.lm_head.weight is not untied.wte.weight
    assert untied.num_params() - tied.num_params() == 30 * 16


def test_sinusoidal_table_values_and_model_uses_it():
    table = sinusoidal_positions(50, 16)
    assert table.shape == (50, 16)
    assert torch.allclose(table[0, 0::2], torch.zeros(8)) and torch.allclose(table[0, 1::2], torch.ones(8))
    assert torch.isclose(table[7, 0], torch.tensor(math.sin(7.0)))  # first pair: frequency 1
    assert torch.isclose(table[7, 3], torch.tensor(math.cos(7 / 10000 ** (2 / 16))))
    model = GPT(GPTConfig(vocab_size=10, block_size=50, n_embd=16, n_head=2, positions="sinusoidal"))
    assert not hasattr(model, "wpe") and torch.equal(model.sinusoid, table)
    assert "sinusoid" not in dict(model.named_parameters())


@pytest.mark.parametrize("kwargs, words", [
    (dict(n_embd=100, n_head=3), "multiple of n_head"),
    (dict(positions="rotary"), "'learned' or 'sinusoidal'"),
    (dict(n_embd=9, n_head=1, positions="sinusoidal"), "must be even"),
])
def test_bad_config_is_one_line_error(kwargs, words):
    with pytest.raises(ValueError, match=words) as info:
        GPTConfig(**kwargs)
    assert "\n" not in str(info.value)


def test_too_long_or_flat_input_is_one_line_error():
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="longer than block_size=8") as info:
        model(torch.zeros(1, 9, dtype=torch.long))
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        model(torch.zeros(8, dtype=torch.long))


def test_layer_norm_and_pre_norm_block_are_what_the_modules_compute():
    from helpers.models.gpt import Block, layer_norm, pre_norm_block

    torch.manual_seed(0)
    x = 3 * torch.randn(2, 5, 16) + 1
    ln = torch.nn.LayerNorm(16)
    with torch.no_grad():
        ln.weight.normal_(), ln.bias.normal_()
    torch.testing.assert_close(layer_norm(x, ln.weight, ln.bias, ln.eps), ln(x))
    block = Block(GPTConfig(n_embd=16, n_head=2, block_size=8)).eval()
    torch.testing.assert_close(pre_norm_block(x, block.ln_1, block.attn, block.ln_2, block.mlp), block(x))
