"""Tests of helpers.load_tokenizer: the offline SmolLM2 tokenizer, and the error for an unknown hub id."""
import pytest

import helpers
from helpers.course.runtime import REPO_ROOT
from helpers.data.pretrained import DEFAULT_MODEL, converted_dir


def test_loads_and_is_cached_as_a_plain_folder(tok):
    assert len(tok) == 49152
    assert (converted_dir(DEFAULT_MODEL) / "tokenizer" / "tokenizer_config.json").exists()
    again = helpers.load_tokenizer()  # now from the converted folder, not the GGUF
    assert again.encode("Shall I compare thee") == tok.encode("Shall I compare thee")


@pytest.mark.parametrize("s", ["Shall I compare thee to a summer's day?", "Café — déjà vu 😀",
                               helpers.read_text(REPO_ROOT / "data" / "japanese_sample.txt"), "  two  spaces\n"])
def test_round_trip(tok, s):
    ids = tok.encode(s, add_special_tokens=False)
    assert tok.decode(ids) == s


def test_special_tokens_are_single_ids(tok):
    assert set(tok.all_special_tokens) == {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
    assert [tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")] == [0, 1, 2]
    assert tok.encode("<|im_start|>user\nHi<|im_end|>", add_special_tokens=False)[0] == 1
    split = tok.encode("a<|endoftext|>b", add_special_tokens=False, split_special_tokens=True)
    assert 0 not in split and tok.decode(split) == "a<|endoftext|>b"


def test_byte_level_vocabulary(tok):
    assert tok.tokenize(" the") == ["Ġthe"]
    assert len(tok.encode("灯", add_special_tokens=False)) == 3  # an unmerged CJK character: one token per byte


def test_unknown_hub_id_offline_gives_one_line_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True, raising=False)
    with pytest.raises(OSError) as e:
        helpers.load_tokenizer("no-such-user/no-such-model-for-this-course")
    message = str(e.value)
    assert "\n" not in message
    assert "no-such-user/no-such-model-for-this-course" in message and repr(DEFAULT_MODEL) in message


@pytest.mark.download
def test_load_pretrained_offline_model_is_a_plain_cached_folder():
    from helpers.data.pretrained import model_dir
    model, tokenizer = helpers.load_pretrained()
    assert (model_dir() / "config.json").exists() and (model_dir() / "model.safetensors").exists()
    assert (model_dir() / "tokenizer_config.json").exists()  # `transformers serve` needs both in one folder
    assert model.config.architectures == ["LlamaForCausalLM"] and not model.training
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    import torch
    ids = tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        next_id = model(ids).logits[0, -1].argmax().item()
    assert tokenizer.decode([next_id]).strip() == "Paris"  # real weights, not a random init


def test_load_pretrained_unknown_hub_id_offline_gives_one_line_error(monkeypatch):
    import huggingface_hub.constants
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True, raising=False)
    with pytest.raises(OSError) as e:
        helpers.load_pretrained("no-such-user/no-such-model-for-this-course")
    assert "\n" not in str(e.value) and repr(DEFAULT_MODEL) in str(e.value)


@pytest.mark.download
def test_perplexity_equals_transformers_loss_and_sees_shuffling():
    import math

    import torch

    from helpers.generation.likelihood import perplexity
    model, tokenizer = helpers.load_pretrained()
    sonnet = helpers.load_sonnets()[17]
    ids = torch.tensor([tokenizer.encode(sonnet, add_special_tokens=False)])
    with torch.no_grad():
        want = math.exp(model(ids, labels=ids).loss.item())
    assert perplexity(model, tokenizer, sonnet) == pytest.approx(want, rel=1e-4)
    # windows: the same text cut into 16-token windows scores worse (less context), padding is ignored
    assert perplexity(model, tokenizer, [sonnet], block_size=16, batch_size=3) > want
    words = sonnet.split()
    shuffled = " ".join(words[i] for i in torch.randperm(len(words), generator=torch.Generator().manual_seed(0)))
    assert perplexity(model, tokenizer, shuffled) > 3 * want
    with pytest.raises(ValueError, match="at least one"):
        perplexity(model, tokenizer, [])
