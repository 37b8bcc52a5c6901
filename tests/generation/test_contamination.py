"""Per-token log-probabilities and Min-K% on the real SmolLM2: equal to the model's loss, ordered sensibly."""
import random

import pytest
import torch

import helpers
from helpers.generation.contamination import mean_logprob, min_k_prob, token_logprobs
from helpers.generation.likelihood import perplexity


def test_token_logprobs_are_the_models_loss(smollm2):
    model, tokenizer = smollm2
    text = helpers.load_sonnets()[17]
    logps = token_logprobs(model, tokenizer, text)
    assert logps.shape == (len(tokenizer.encode(text, add_special_tokens=False)) - 1,) and (logps <= 0).all()
    assert torch.exp(-logps.mean()).item() == pytest.approx(perplexity(model, tokenizer, [text]), rel=1e-4)


def test_min_k_is_the_mean_of_the_lowest_tokens_and_shuffling_lowers_it(smollm2):
    model, tokenizer = smollm2
    text = helpers.load_sonnets()[17]
    logps = token_logprobs(model, tokenizer, text).sort().values
    assert min_k_prob(model, tokenizer, text, k=0.2) == pytest.approx(logps[:int(0.2 * len(logps))].mean().item())
    assert min_k_prob(model, tokenizer, text, k=1.0) == pytest.approx(mean_logprob(model, tokenizer, text))
    words = text.split()
    random.Random(0).shuffle(words)
    assert min_k_prob(model, tokenizer, " ".join(words)) < min_k_prob(model, tokenizer, text) - 1.0


def test_bad_input_is_a_one_line_error(smollm2):
    model, tokenizer = smollm2
    with pytest.raises(ValueError, match="at least two tokens"):
        token_logprobs(model, tokenizer, "")
    with pytest.raises(ValueError, match="between 0"):
        min_k_prob(model, tokenizer, "Shall I compare thee", k=0)


def test_famous_texts_score_above_fresh_ones_of_the_same_kind(smollm2):
    from helpers.generation import contamination

    model, tokenizer = smollm2
    famous = contamination.famous_texts()
    assert famous["Sonnet 18"].startswith("Shall I compare thee") and famous["Hamlet"].startswith("To be, or not to be")
    texts = {**famous, **contamination.FRESH}
    n = contamination.same_length(tokenizer, texts)
    assert n == min(len(tokenizer.encode(t, add_special_tokens=False)) for t in texts.values()) >= 100
    scores = {name: min_k_prob(model, tokenizer, text, max_tokens=n) for name, text in texts.items()}
    # what notebook 10 reports for SmolLM2: every famous text above every text written for the course
    assert min(scores[k] for k in famous) > max(scores[k] for k in contamination.FRESH)
    shuffled = contamination.shuffled_words(famous["Sonnet 18"])
    assert sorted(shuffled.split()) == sorted(famous["Sonnet 18"].split()) and shuffled != famous["Sonnet 18"]
    assert shuffled.count("\n") == famous["Sonnet 18"].count("\n")
