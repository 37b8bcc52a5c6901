"""Sampling filters against transformers' logits processors; generation with and without the KV cache."""
import pytest
import torch
from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

import helpers
from helpers.generation.sampling import (
    apply_temperature,
    generate,
    generate_text,
    sample_next,
    top_k_filter,
    top_p_filter,
    trim_at_stop,
)
from helpers.models.gpt import GPT, GPTConfig

pytestmark = pytest.mark.numerics  # run again under each precision: python3 course.py test --dtype ...


@pytest.fixture(scope="module")
def logits():
    torch.manual_seed(0)
    return torch.randn(4, 50) * 3


def test_filters_equal_transformers_warpers(logits):
    ids = torch.zeros(4, 1, dtype=torch.long)
    assert torch.allclose(apply_temperature(logits, 0.7), TemperatureLogitsWarper(0.7)(ids, logits))
    for k in (1, 5, 49):
        assert torch.equal(top_k_filter(logits, k), TopKLogitsWarper(k)(ids, logits))
    for p in (0.1, 0.5, 0.9, 0.99):
        ours, theirs = top_p_filter(logits, p), TopPLogitsWarper(p)(ids, logits)
        assert torch.equal(torch.isinf(ours), torch.isinf(theirs)), p


def test_top_p_keeps_smallest_set_reaching_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isfinite(top_p_filter(logits, 0.8)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(top_p_filter(logits, 0.81)).tolist() == [[True, True, True, False]]
    assert torch.isfinite(top_p_filter(logits, 0.01)).tolist() == [[True, False, False, False]]


def test_bad_sampling_arguments_are_one_line_errors(logits):
    for p in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"outside \(0, 1\]"):
            top_p_filter(logits, p)
    with pytest.raises(ValueError, match="greedy=True"):
        apply_temperature(logits, 0)
    with pytest.raises(ValueError, match="top_k=-1"):
        top_k_filter(logits, -1)


def test_greedy_is_argmax_and_sampling_follows_the_distribution():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).repeat(20000, 1)
    assert sample_next(logits[:1], greedy=True).item() == 0
    draws = sample_next(logits, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=3).float() / len(draws)
    assert torch.allclose(freq, torch.tensor([0.7, 0.2, 0.1]), atol=0.015)


@pytest.fixture(scope="module")
def model():
    helpers.seed_everything(0)
    return GPT(GPTConfig(vocab_size=40, block_size=24, n_layer=2, n_head=2, n_embd=32)).eval()


def test_kv_cache_gives_the_same_logits_in_pieces(model):
    x = torch.randint(0, 40, (2, 20))
    full, _ = model(x)
    cache = model.new_cache()
    pieces = [model(x[:, :6], cache=cache)[0], model(x[:, 6:11], cache=cache)[0]]
    pieces += [model(x[:, t:t + 1], cache=cache)[0] for t in range(11, 20)]
    assert cache.length == 20
    assert torch.allclose(torch.cat(pieces, dim=1), full, atol=1e-5)
    with pytest.raises(ValueError, match="longer than block_size=24"):
        model(x[:, :5], cache=cache)


def test_generation_with_and_without_cache_is_identical_even_past_the_context(model):
    prompt = torch.randint(0, 40, (3, 5))
    for kwargs in (dict(greedy=True), dict(temperature=0.9, top_k=10, top_p=0.9)):
        with_cache = generate(model, prompt, 40, use_cache=True, generator=torch.Generator().manual_seed(1), **kwargs)
        without = generate(model, prompt, 40, use_cache=False, generator=torch.Generator().manual_seed(1), **kwargs)
        assert with_cache.shape == (3, 45) and torch.equal(with_cache, without)


def test_stop_sequences_and_prompt_longer_than_context(model):
    alphabet = "abcdefghijklmnopqrstuvwxyz .,;:!?'-ABCDE"

    def encode(s):
        return [alphabet.index(c) for c in s]

    def decode(ids):
        return "".join(alphabet[i] for i in ids)

    free = generate_text(model, encode, decode, "the ", 30, greedy=True)[0]
    stop = free[5:7]
    cut = generate_text(model, encode, decode, "the ", 30, greedy=True, stop=[stop])[0]
    assert stop not in cut and free.startswith(cut) and len(cut) <= free.find(stop)
    assert trim_at_stop("hello. world", ["."]) == "hello"
    with pytest.raises(ValueError, match="the prompt has 30 tokens but the model's context is 24"):
        generate(model, torch.zeros(1, 30, dtype=torch.long), 5)
    with pytest.raises(ValueError, match="need decode"):
        generate(model, torch.zeros(1, 3, dtype=torch.long), 5, stop=["x"])
